package sig

import (
	"testing"
)

// TestParseErrors checks the exact error text of invalid options, one or
// more cases per keyword.
func TestParseErrors(t *testing.T) {
	const h = `alert tcp any any -> any any (`
	tests := []struct {
		name, rule, want string
	}{
		{name: "unknown keyword", rule: h + `sid:1; frobnicate;)`, want: `sid 1: keyword "frobnicate": unknown keyword`},
		{name: "no sid", rule: h + `msg:"x";)`, want: `no sid`},
		{name: "action", rule: `log tcp any any -> any any (sid:1;)`, want: `sid 1: unknown action "log"`},
		{name: "protocol", rule: `alert foo any any -> any any (sid:1;)`, want: `sid 1: unknown protocol "foo"`},
		{name: "variable", rule: `alert tcp $NOPE any -> any any (sid:1;)`, want: `sid 1: source: undefined address variable $NOPE`},
		{name: "port", rule: `alert tcp any 99999 -> any any (sid:1;)`, want: `sid 1: source port: bad port "99999"`},
		{name: "direction", rule: `alert tcp any any <- any any (sid:1;)`, want: `sid 1: direction <- is not supported; swap the sides and use ->`},
		{name: "content hex", rule: h + `content:"|4|"; sid:1;)`, want: `sid 1: keyword "content": odd number of hex digits in |4|`},
		{name: "content hex digit", rule: h + `content:"|zz|"; sid:1;)`, want: `sid 1: keyword "content": bad hex digit 'z' in |zz|`},
		{name: "content unterminated", rule: h + `content:"|41"; sid:1;)`, want: `sid 1: keyword "content": unterminated |hex|`},
		{name: "nocase alone", rule: h + `nocase; sid:1;)`, want: `sid 1: keyword "nocase": no preceding content`},
		{name: "nocase twice", rule: h + `content:"a"; nocase; nocase; sid:1;)`, want: `sid 1: keyword "nocase": nocase given twice`},
		{name: "depth short", rule: h + `content:"abcd"; depth:2; sid:1;)`, want: `sid 1: keyword "depth": depth 2 shorter than the content (4 bytes)`},
		{name: "depth startswith", rule: h + `content:"a"; startswith; depth:2; sid:1;)`, want: `sid 1: keyword "depth": depth with startswith`},
		{name: "offset number", rule: h + `content:"a"; offset:x; sid:1;)`, want: `sid 1: keyword "offset": bad number "x"`},
		{name: "distance range", rule: h + `content:"a"; distance:70000; sid:1;)`, want: `sid 1: keyword "distance": 70000 out of range [-65536, 65536]`},
		{name: "within short", rule: h + `content:"abc"; within:1; sid:1;)`, want: `sid 1: keyword "within": within 1 shorter than the content (3 bytes)`},
		{name: "startswith offset", rule: h + `content:"a"; offset:1; startswith; sid:1;)`, want: `sid 1: keyword "startswith": startswith with depth, offset, distance or within`},
		{name: "fast_pattern negated", rule: h + `content:!"a"; fast_pattern; sid:1;)`, want: `sid 1: keyword "fast_pattern": negated content cannot be the fast pattern`},
		{name: "fast_pattern range", rule: h + `content:"abc"; fast_pattern:2,5; sid:1;)`, want: `sid 1: keyword "fast_pattern": 2,5 is outside the 3-byte content`},
		{name: "bsize no buffer", rule: h + `bsize:3; sid:1;)`, want: `sid 1: keyword "bsize": needs a sticky buffer before it`},
		{name: "dotprefix no buffer", rule: h + `dotprefix; sid:1;)`, want: `sid 1: keyword "dotprefix": needs a sticky buffer before it`},
		{name: "pcre match reset", rule: h + `pcre:"/a\Kb/"; sid:1;)`, want: `sid 1: keyword "pcre": \K is not supported by Go regexp; backtracking engine: \K is not supported`},
		{name: "pcre recursion", rule: h + `pcre:"/a(?R)?b/"; sid:1;)`, want: `sid 1: keyword "pcre": go regexp: invalid or unsupported Perl syntax: ` + "`(?R`" + `; backtracking engine: unrecognized grouping construct: (?R in ` + "`a(?R)?b`"},
		{name: "pcre ungreedy backtracking", rule: h + `pcre:"/(a)\1/G"; sid:1;)`, want: `sid 1: keyword "pcre": backreference \1 is not supported by Go regexp; backtracking engine: flag G (ungreedy) is not supported`},
		{name: "pcre relative backreference", rule: h + `pcre:"/(a)\g{-1}/"; sid:1;)`, want: `sid 1: keyword "pcre": go regexp: invalid escape sequence: ` + "`\\g`" + `; backtracking engine: \g: only the numbered backreferences \gN and \g{N} are supported`},
		{name: "pcre flag", rule: h + `pcre:"/a/q"; sid:1;)`, want: `sid 1: keyword "pcre": unknown flag 'q'`},
		{name: "pcre quotes", rule: h + `pcre:/a/; sid:1;)`, want: `sid 1: keyword "pcre": want a quoted "/regex/flags"`},
		{name: "flow", rule: h + `flow:sideways; sid:1;)`, want: `sid 1: keyword "flow": unknown option "sideways"`},
		{name: "flow both", rule: h + `flow:to_server,to_client; sid:1;)`, want: `sid 1: keyword "flow": both directions`},
		{name: "flowbits op", rule: h + `flowbits:flip,a; sid:1;)`, want: `sid 1: keyword "flowbits": unknown operation "flip"`},
		{name: "flowbits or set", rule: h + `flowbits:set,a|b; sid:1;)`, want: `sid 1: keyword "flowbits": | and & only with isset and isnotset`},
		{name: "xbits track", rule: h + `xbits:set,a; sid:1;)`, want: `sid 1: keyword "xbits": want OP,NAME,track ip_src|ip_dst|ip_pair[,expire N]`},
		{name: "dsize", rule: h + `dsize:5<>2; sid:1;)`, want: `sid 1: keyword "dsize": range 5<>2 is empty`},
		{name: "stream_size", rule: h + `stream_size:up,>,1; sid:1;)`, want: `sid 1: keyword "stream_size": unknown side "up"`},
		{name: "flags", rule: h + `flags:SX; sid:1;)`, want: `sid 1: keyword "flags": unknown flag 'X'`},
		{name: "itype", rule: h + `itype:300; sid:1;)`, want: `sid 1: keyword "itype": number 300 out of range (max 255)`},
		{name: "icode", rule: h + `icode:x; sid:1;)`, want: `sid 1: keyword "icode": bad number "x"`},
		{name: "threshold type", rule: h + `threshold:type most, track by_src, count 1, seconds 1; sid:1;)`, want: `sid 1: keyword "threshold": unknown type "most"`},
		{name: "threshold missing", rule: h + `threshold:type limit, track by_src, count 1; sid:1;)`, want: `sid 1: keyword "threshold": missing seconds`},
		{name: "detection_filter type", rule: h + `detection_filter:type limit, track by_src, count 1, seconds 1; sid:1;)`, want: `sid 1: keyword "detection_filter": no type in detection_filter`},
		{name: "target", rule: h + `target:both; sid:1;)`, want: `sid 1: keyword "target": want src_ip or dest_ip, have "both"`},
		{name: "byte_test op", rule: h + `byte_test:2,~,1,0; sid:1;)`, want: `sid 1: keyword "byte_test": unknown operator "~"`},
		{name: "byte_test bytes", rule: h + `byte_test:9,=,1,0; sid:1;)`, want: `sid 1: keyword "byte_test": 9 bytes: binary reads 1 to 8`},
		{name: "byte_jump short", rule: h + `byte_jump:2; sid:1;)`, want: `sid 1: keyword "byte_jump": want BYTES,OFFSET[,...], have "2"`},
		{name: "byte_extract twice", rule: h + `byte_extract:1,0,v; byte_extract:1,1,v; sid:1;)`, want: `sid 1: keyword "byte_extract": variable "v" defined twice`},
		{name: "isdataat", rule: h + `isdataat:1,sideways; sid:1;)`, want: `sid 1: keyword "isdataat": unknown option "sideways"`},
		{name: "urilen", rule: h + `urilen:5,cooked; sid:1;)`, want: `sid 1: keyword "urilen": want norm or raw after the comma, have "cooked"`},
		{name: "app-layer-protocol", rule: h + `app-layer-protocol:gopher; sid:1;)`, want: `sid 1: keyword "app-layer-protocol": unknown protocol "gopher"`},
		{name: "classtype", rule: h + `classtype:bad class; sid:1;)`, want: `sid 1: keyword "classtype": bad class name "bad class"`},
		{name: "priority", rule: h + `priority:0; sid:1;)`, want: `sid 1: keyword "priority": priority 0`},
		{name: "reference", rule: h + `reference:url; sid:1;)`, want: `sid 1: keyword "reference": want SYSTEM,ID, have "url"`},
		{name: "legacy modifier", rule: h + `content:"a"; pcre:"/b/"; http_uri; sid:1;)`, want: `sid 1: keyword "http_uri": must follow a content that is in no sticky buffer`},
		{name: "tls.version", rule: h + `tls.version:2.0; sid:1;)`, want: `sid 1: keyword "tls.version": bad version "2.0"`},
		{name: "tls.subject empty", rule: h + `tls.subject:""; sid:1;)`, want: `sid 1: keyword "tls.subject": empty value`},
		{name: "tls.issuerdn quote", rule: h + `tls.issuerdn:"CN=x; sid:1;)`, want: `sid 1: keyword "tls.issuerdn": unterminated quote`},
		{name: "value required", rule: h + `content; sid:1;)`, want: `sid 1: keyword "content": value required`},
		{name: "no value", rule: h + `nocase:1; sid:1;)`, want: `sid 1: keyword "nocase": takes no value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.rule, nil)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want %q", tt.rule, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tt.rule, err, tt.want)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "local.rules", Line: 7, SID: 42, Keyword: "content", Err: errf("unterminated |hex|")}
	if got, want := e.Error(), `local.rules:7: sid 42: keyword "content": unterminated |hex|`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestFormatRoundTrip(t *testing.T) {
	rule := `alert http $HOME_NET any -> [1.2.3.4, 5.6.7.0/24] $HTTP_PORTS (msg:"a\;b"; flow:established,to_server; http.uri; content:"/x|0d 0a|"; nocase; pcre:"/a\;b/U"; sid:9; rev:2;)`
	s, err := Parse(rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	one := Format(s)
	s2, err := Parse(one, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, one)
	}
	if two := Format(s2); two != one {
		t.Errorf("unstable:\n%s\n%s", one, two)
	}
}
