package fleet

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/rules"
)

func TestKeys(t *testing.T) {
	k := NewKeys("/prod")
	tests := []struct{ name, got, want string }{
		{"current", k.Current(), "/prod/policy/current"},
		{"history", k.History(42), "/prod/policy/history/00000000000000000042"},
		{"host", k.Host("web-1"), "/prod/inventory/hosts/web-1"},
		{"identity", k.Identity("vdi-1"), "/prod/identity/vdi-1"},
		{"status", k.Status("web-1"), "/prod/status/web-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("%s, want %s", tt.got, tt.want)
			}
		})
	}
	// The agent's one watch range covers identity/, inventory/ and
	// policy/current, but neither status/ nor policy/history/.
	lo, hi := k.IdentityPrefix(), k.Current()+"\x00"
	in := func(s string) bool { return s >= lo && s < hi }
	for key, want := range map[string]bool{
		k.Identity("a"): true, k.Host("zz"): true, k.Current(): true,
		k.History(1): false, k.Status("a"): false, "/prod/policy/currentx": false,
	} {
		if in(key) != want {
			t.Errorf("watch range holds %s: %v, want %v", key, in(key), want)
		}
	}
	if rev, ok := k.HistoryRev(k.History(7)); !ok || rev != 7 {
		t.Errorf("HistoryRev: %d %v", rev, ok)
	}
	for _, bad := range []string{"/prod/inventory/hosts/", "/prod/inventory/hosts/a/b", "/other/inventory/hosts/a"} {
		if _, ok := Name(k.HostsPrefix(), bad); ok {
			t.Errorf("Name accepted %q", bad)
		}
	}
}

func TestRevisionEncoding(t *testing.T) {
	r, err := NewRevision([]rules.File{{Name: "/etc/septa/policy.d/10-a.toml", Data: []byte("[settings]\n")}, {Name: "policy.d/20-b.toml", Data: []byte("")}})
	if err != nil {
		t.Fatal(err)
	}
	r.Rev, r.Time, r.Author = 3, time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC), "ops"
	val, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"rev":3,"time":"2026-12-04T10:00:00Z","author":"ops","files":[{"name":"10-a.toml","data":"[settings]\n"},{"name":"20-b.toml","data":""}]}`
	if string(val) != want {
		t.Errorf("encoded\n%s\nwant\n%s", val, want)
	}
	back, err := DecodeRevision(val)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if r.Digest() != back.Digest() || len(r.Digest()) != 12 {
		t.Errorf("digest %q vs %q", r.Digest(), back.Digest())
	}
	other := *back
	other.Files = []File{{Name: "10-a.toml", Data: "[settings]\n "}, back.Files[1]}
	if other.Digest() == r.Digest() {
		t.Error("different files, same digest")
	}
}

func TestDecodeRevisionRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not json", `{`, "revision: unexpected EOF"},
		{"unknown field", `{"rev":1,"files":[{"name":"a.toml","data":""}],"x":1}`, `revision: json: unknown field "x"`},
		{"rev 0", `{"rev":0,"files":[{"name":"a.toml","data":""}]}`, "revision: rev 0"},
		{"no files", `{"rev":1,"files":[]}`, "revision: no policy files"},
		{"path in name", `{"rev":1,"files":[{"name":"../a.toml","data":""}]}`, `revision: file name "../a.toml" is not a *.toml base name`},
		{"not toml", `{"rev":1,"files":[{"name":"a.txt","data":""}]}`, `revision: file name "a.txt" is not a *.toml base name`},
		{"hidden", `{"rev":1,"files":[{"name":".a.toml","data":""}]}`, `revision: file name ".a.toml" is not a *.toml base name`},
		{"order", `{"rev":1,"files":[{"name":"b.toml","data":""},{"name":"a.toml","data":""}]}`, `revision: file "a.toml" is out of order or repeated`},
		{"repeated", `{"rev":1,"files":[{"name":"a.toml","data":""},{"name":"a.toml","data":""}]}`, `revision: file "a.toml" is out of order or repeated`},
		{"trailing", `{"rev":1,"files":[{"name":"a.toml","data":""}]} {}`, "revision: trailing data after the value"},
		{"too big", `{"rev":1,"files":[{"name":"a.toml","data":"` + strings.Repeat("x", maxRevisionBytes) + `"}]}`, "revision: 1048582 bytes, more than 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRevision([]byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v, want %s", err, tt.want)
			}
		})
	}
}

// FuzzDecodeRevision: any value decodes or fails without panic; one that
// decodes encodes back to a value that decodes to the same revision.
func FuzzDecodeRevision(f *testing.F) {
	f.Add([]byte(`{"rev":3,"time":"2026-12-04T10:00:00Z","files":[{"name":"10-a.toml","data":"[settings]\n"}]}`))
	f.Add([]byte(`{"rev":1,"files":[{"name":"a.toml","data":""}],"rollback_of":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRevision(data)
		if err != nil {
			return
		}
		val, err := r.Encode()
		if err != nil {
			t.Fatalf("a decoded revision does not encode: %v", err)
		}
		again, err := DecodeRevision(val)
		if err != nil {
			t.Fatalf("an encoded revision does not decode: %v", err)
		}
		if diff := cmp.Diff(r, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func TestSummarize(t *testing.T) {
	sts := map[string]Status{
		"a": {Host: "a", Revision: 5},
		"b": {Host: "b", Revision: 4},
		"c": {Host: "c", Revision: 4, Error: "10-a.toml:3:9: bad", ErrorRevision: 5},
		"d": {Host: "d", Revision: 5},
		"e": {Host: "e", Revision: 4, Error: "old failure", ErrorRevision: 3},
	}
	reg := map[string]bool{"a": true, "b": true, "c": true, "e": true, "f": true}
	got := Summarize(5, sts, reg)
	want := []HostState{
		{Host: "a", State: StateOK, Revision: 5},
		{Host: "b", State: StateBehind, Revision: 4},
		{Host: "c", State: StateFailing, Revision: 4, Error: "10-a.toml:3:9: bad"},
		{Host: "d", State: StateOffline, Revision: 5},
		{Host: "e", State: StateBehind, Revision: 4, Error: "old failure"},
		{Host: "f", State: StateUnknown},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
}

func TestHostRecordValidation(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"ok", `{"name":"db-1","addresses":["10.3.3.10"],"tags":{"tier":"db"}}`, ""},
		{"key mismatch", `{"name":"db-2","addresses":["10.3.3.10"]}`, `host k: name "db-2" does not match its key`},
		{"no address", `{"name":"db-1","addresses":[]}`, `host k: addresses: a host needs at least one address`},
		{"bad tag", `{"name":"db-1","addresses":["10.3.3.10"],"tags":{"tier":"d b"}}`, `host k: tags: tag tier=d b: ' ' is not allowed (letters, digits, - _ . /)`},
		{"unknown field", `{"name":"db-1","addresses":["10.3.3.10"],"x":1}`, `host k: json: unknown field "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := DecodeHost("k", "db-1", []byte(tt.in))
			got := ""
			if err != nil {
				got = err.Error()
			} else if h.Name != "db-1" || len(h.Addresses) != 1 {
				t.Errorf("host %+v", h)
			}
			if got != tt.want {
				t.Errorf("error %q, want %q", got, tt.want)
			}
		})
	}
}
