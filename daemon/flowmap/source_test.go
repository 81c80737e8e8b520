package flowmap

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/daemon/events"
)

// TestReadEVEMerges reads decisions and records of the same flows: each
// flow comes out once, as its record when it has one.
func TestReadEVEMerges(t *testing.T) {
	ev := func(kind events.Kind, src string, dport uint16, action string, ended bool) *events.Event {
		e := &events.Event{
			Kind: kind, Time: t0, Proto: 6, Action: action,
			Src: netip.MustParseAddrPort(src), Dst: netip.AddrPortFrom(netip.MustParseAddr("10.3.1.10"), dport),
			Start: t0,
		}
		if ended {
			e.End = t0.Add(time.Second)
		}
		return e
	}
	in := []*events.Event{
		ev(events.KindFlow, "10.4.0.1:1000", 80, "allow", false), // decision, then its record
		ev(events.KindDrop, "10.1.0.1:2000", 22, "deny", false),  // denied: no record
		ev(events.KindFlow, "10.4.0.1:1000", 80, "allow", true),
		ev(events.KindFlow, "10.4.0.2:1001", 80, "allow", false), // open: no record yet
		ev(events.KindDrop, "10.1.0.1:2000", 22, "deny", false),  // a repeat
		ev(events.KindFlow, "10.4.0.3:1002", 443, "allow", true), // record, then a late decision
		ev(events.KindFlow, "10.4.0.3:1002", 443, "allow", false),
		ev(events.KindFlow, "10.4.0.1:1000", 80, "allow", true), // the other end's record
	}
	otherEnd := in[len(in)-1]
	otherEnd.Start, otherEnd.End = otherEnd.Start.Add(300*time.Microsecond), otherEnd.End.Add(time.Millisecond)
	reuse := ev(events.KindFlow, "10.4.0.1:1000", 80, "allow", true) // the port reused an hour later
	reuse.Start, reuse.End, reuse.Time = t0.Add(time.Hour), t0.Add(time.Hour+time.Second), t0.Add(time.Hour)
	in = append(in, reuse)
	var b bytes.Buffer
	enc := events.NewEVEEncoder()
	for _, e := range in {
		line, _ := enc.Encode(e)
		b.Write(line)
	}
	b.WriteString("not json\n")
	var got []string
	st, err := ReadEVE(&b, func(e *events.Event) {
		got = append(got, e.Src.String()+" "+map[bool]string{true: "record", false: "decision"}[!e.End.IsZero()])
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.4.0.1:1000 record", "10.4.0.3:1002 record", "10.4.0.1:1000 record", "10.1.0.1:2000 decision", "10.4.0.2:1001 decision"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flows (-want +got):\n%s", diff)
	}
	fs := st.Files[0]
	if fs.Lines != 10 || fs.Bad != 1 || st.Records != 3 || st.Merged != 4 || len(fs.Errors) != 1 || fs.Errors[0].Line != 10 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(fs.Errors[0].Error(), "line 10: eve: invalid JSON") {
		t.Errorf("error %v", fs.Errors[0])
	}
}
