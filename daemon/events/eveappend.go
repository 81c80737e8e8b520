package events

import (
	"strconv"
	"unicode/utf8"
)

// The EVE record is written by hand rather than with encoding/json: the
// inspector writes one line per flow and per alert, and reflection took
// most of the time. The output is byte for byte what encoding/json
// writes for eveRecord with HTML escaping off (TestEVEAppendMatchesJSON,
// FuzzEVEAppendString): the same fields in the same order, the same
// omitempty rules, the same string escapes.

func appendRecord(b []byte, r *eveRecord) []byte {
	b = append(b, `{"timestamp":`...)
	b = appendString(b, r.Timestamp)
	if r.FlowID != 0 {
		b = append(b, `,"flow_id":`...)
		b = strconv.AppendUint(b, r.FlowID, 10)
	}
	b = appendStringField(b, `,"event_type":`, r.EventType, false)
	b = appendStringField(b, `,"src_ip":`, r.SrcIP, true)
	if r.SrcPort != nil {
		b = append(b, `,"src_port":`...)
		b = strconv.AppendUint(b, uint64(*r.SrcPort), 10)
	}
	b = appendStringField(b, `,"dest_ip":`, r.DestIP, true)
	if r.DestPort != nil {
		b = append(b, `,"dest_port":`...)
		b = strconv.AppendUint(b, uint64(*r.DestPort), 10)
	}
	b = appendStringField(b, `,"proto":`, r.Proto, true)
	b = appendStringField(b, `,"app_proto":`, r.AppProto, true)
	if a := r.Alert; a != nil {
		b = append(b, `,"alert":{"action":`...)
		b = appendString(b, a.Action)
		b = append(b, `,"gid":`...)
		b = strconv.AppendUint(b, uint64(a.GID), 10)
		b = append(b, `,"signature_id":`...)
		b = strconv.AppendUint(b, uint64(a.SignatureID), 10)
		b = append(b, `,"rev":`...)
		b = strconv.AppendUint(b, uint64(a.Rev), 10)
		b = appendStringField(b, `,"signature":`, a.Signature, false)
		b = appendStringField(b, `,"category":`, a.Category, false)
		b = append(b, `,"severity":`...)
		b = strconv.AppendInt(b, int64(a.Severity), 10)
		b = append(b, '}')
	}
	if d := r.Drop; d != nil {
		b = append(b, `,"drop":{`...)
		if d.Reason != "" {
			b = append(b, `"reason":`...)
			b = appendString(b, d.Reason)
		}
		b = append(b, '}')
	}
	if f := r.Flow; f != nil {
		b = append(b, `,"flow":{"pkts_toserver":`...)
		b = strconv.AppendUint(b, f.PktsToServer, 10)
		b = append(b, `,"pkts_toclient":`...)
		b = strconv.AppendUint(b, f.PktsToClient, 10)
		b = append(b, `,"bytes_toserver":`...)
		b = strconv.AppendUint(b, f.BytesToServer, 10)
		b = append(b, `,"bytes_toclient":`...)
		b = strconv.AppendUint(b, f.BytesToClient, 10)
		b = appendStringField(b, `,"start":`, f.Start, true)
		b = appendStringField(b, `,"end":`, f.End, true)
		if f.Age != nil {
			b = append(b, `,"age":`...)
			b = strconv.AppendInt(b, *f.Age, 10)
		}
		b = appendStringField(b, `,"state":`, f.State, true)
		b = appendStringField(b, `,"reason":`, f.Reason, true)
		if f.Alerted != nil {
			b = append(b, `,"alerted":`...)
			b = strconv.AppendBool(b, *f.Alerted)
		}
		b = append(b, '}')
	}
	if s := r.Septa; s != nil {
		b = appendSepta(b, s)
	}
	return append(b, "}\n"...)
}

func appendSepta(b []byte, s *eveSepta) []byte {
	b = append(b, `,"septa":{`...)
	n := len(b)
	b = appendStringField(b, `,"rule":`, s.Rule, true)
	b = appendStringField(b, `,"verdict":`, s.Verdict, true)
	if s.Observe {
		b = append(b, `,"observe":true`...)
	}
	b = appendStringField(b, `,"reason":`, s.Reason, true)
	b = appendStringField(b, `,"app":`, s.App, true)
	b = appendStringField(b, `,"user":`, s.User, true)
	b = appendStrings(b, `,"groups":`, s.Groups)
	b = appendStringField(b, `,"process":`, s.Process, true)
	b = appendStringField(b, `,"cmdline":`, s.Cmdline, true)
	b = appendStringField(b, `,"zone_src":`, s.ZoneSrc, true)
	b = appendStringField(b, `,"zone_dst":`, s.ZoneDst, true)
	b = appendStrings(b, `,"groups_src":`, s.GroupsSrc)
	b = appendStrings(b, `,"groups_dst":`, s.GroupsDst)
	b = appendStringField(b, `,"sni":`, s.SNI, true)
	b = appendStringField(b, `,"http_host":`, s.HTTPHost, true)
	if s.Generation != 0 {
		b = append(b, `,"generation":`...)
		b = strconv.AppendUint(b, s.Generation, 10)
	}
	b = appendStringField(b, `,"revision":`, s.Revision, true)
	b = appendStringField(b, `,"error":`, s.Error, true)
	b = appendStringField(b, `,"decider":`, s.Decider, true)
	if len(b) > n {
		// The first field's comma goes.
		b = append(b[:n], b[n+1:]...)
	}
	return append(b, '}')
}

// appendStringField appends key (with its leading comma) and s, or
// nothing when omitEmpty and s is empty.
func appendStringField(b []byte, key, s string, omitEmpty bool) []byte {
	if omitEmpty && s == "" {
		return b
	}
	return appendString(append(b, key...), s)
}

func appendStrings(b []byte, key string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(append(b, key...), '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string the way encoding/json does
// without HTML escaping: ", \ and control characters escaped (\b, \f,
// \n, \r, \t short, the rest \u00XX), U+2028 and U+2029 escaped, and each
// byte of invalid UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
