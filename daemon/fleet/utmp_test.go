package fleet

import (
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testdata/utmp was made by util-linux's own encoder from testdata/utmp.txt:
//
//	utmpdump -r < testdata/utmp.txt > testdata/utmp
func TestParseUtmpFromUtmpdump(t *testing.T) {
	data, err := os.ReadFile("testdata/utmp")
	if err != nil {
		t.Fatal(err)
	}
	got := ParseUtmp(data)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	want := []UtmpRecord{
		{Type: 2, Line: "~", ID: "~~  ", User: "reboot", Host: "6.1.0-18-amd64", Time: at("2026-12-04T08:00:01Z")},
		{Type: 1, PID: 53, Line: "~", ID: "~~  ", User: "runlevel", Host: "6.1.0-18-amd64", Time: at("2026-12-04T08:00:02Z")},
		{Type: 6, PID: 812, Line: "tty1", ID: "tty1", User: "LOGIN", Time: at("2026-12-04T08:00:03Z")},
		{Type: 7, PID: 4211, Line: "pts/0", ID: "ts/0", User: "alice", Host: "10.4.0.50", Time: at("2026-12-04T09:15:22.123456Z"), Addr: netip.MustParseAddr("10.4.0.50")},
		{Type: 7, PID: 4388, Line: "pts/1", ID: "ts/1", User: "bob", Host: "fd00:4::50", Time: at("2026-12-04T09:20:00Z"), Addr: netip.MustParseAddr("fd00:4::50")},
		{Type: 8, PID: 4500, Line: "pts/2", ID: "ts/2", Time: at("2026-12-04T09:30:00Z")},
		{Type: 7, PID: 4600, Line: "pts/3", ID: "ts/3", User: "alice", Time: at("2026-12-04T09:31:00Z")},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("ParseUtmp (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"alice", "bob"}, Logins(got)); diff != "" {
		t.Errorf("Logins (-want +got):\n%s", diff)
	}
	// Marshal writes back exactly what util-linux wrote.
	var back []byte
	for _, r := range got {
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back = append(back, b...)
	}
	if diff := cmp.Diff(data, back); diff != "" {
		t.Errorf("Marshal differs from utmpdump -r (-want +got):\n%s", diff)
	}
}

func TestParseUtmpPartial(t *testing.T) {
	rec, err := UtmpRecord{Type: UtmpUserProcess, User: "carol", Line: "pts/9"}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, nil},
		{"one", rec, []string{"carol"}},
		{"trailing partial record", append(append([]byte{}, rec...), rec[:100]...), []string{"carol"}},
		{"only a partial record", rec[:383], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Logins(ParseUtmp(tt.data))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUtmpMarshalTooLong(t *testing.T) {
	_, err := UtmpRecord{User: "a-user-name-longer-than-32-bytes-x"}.Marshal()
	if err == nil || err.Error() != `utmp: user "a-user-name-longer-than-32-bytes-x" is longer than 32 bytes` {
		t.Errorf("error %v", err)
	}
}

// FuzzParseUtmp: any bytes parse without panic, and every record
// marshals and parses back to itself.
func FuzzParseUtmp(f *testing.F) {
	if data, err := os.ReadFile("testdata/utmp"); err == nil {
		f.Add(data)
	}
	f.Add([]byte{7, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, r := range ParseUtmp(data) {
			b, err := r.Marshal()
			if err != nil {
				t.Fatalf("a parsed record does not marshal: %v", err)
			}
			again := ParseUtmp(b)
			if len(again) != 1 {
				t.Fatalf("%d records from one", len(again))
			}
			if diff := cmp.Diff(r, again[0], cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Fatalf("round trip (-first +second):\n%s", diff)
			}
		}
	})
}
