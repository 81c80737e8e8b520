package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/internal/journaltest"
)

// integration skips the test unless SEPTA_INTEGRATION=1 and root.
func integration(t *testing.T) {
	t.Helper()
	if os.Getenv("SEPTA_INTEGRATION") != "1" {
		t.Skip("integration test: set SEPTA_INTEGRATION=1 and run as root")
	}
	if os.Geteuid() != 0 {
		t.Skip("integration test: needs root (SEPTA_INTEGRATION=1 is set)")
	}
}

// poll calls cond every interval until it returns true or timeout
// passes, and reports whether it did.
func poll(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
}

// TestJournaldIntegration sends an event through the bus to the real
// journal and reads it back with journalctl by its unique flow ID.
func TestJournaldIntegration(t *testing.T) {
	integration(t)
	journaltest.Ensure(t)
	if !journal.Enabled() {
		t.Fatal("journal.Enabled() is false although the socket exists")
	}
	if _, err := exec.LookPath("journalctl"); err != nil {
		t.Skip("no journalctl to read the journal back")
	}

	// A flow ID no earlier run has used.
	now := time.Now()
	e := &Event{
		Kind: KindAlert, Time: now,
		Src: netip.MustParseAddrPort("10.4.0.5:40000"), Dst: netip.MustParseAddrPort("10.3.10.10:80"), Proto: 6,
		App: "http", AppProto: "http", Rule: "web-in", Action: "allow", Reason: "policy",
		User: "bob", Groups: []string{"hr", "staff"}, ZoneSrc: "vdi", ZoneDst: "prod",
		Alert: Alert{Action: AlertBlocked, GID: 1, SID: 2100498, Rev: 7, Signature: "GPL ATTACK_RESPONSE id check returned root", Severity: 2},
	}
	e.FlowID = FlowID(e.Src, e.Dst, e.Proto, now) ^ uint64(os.Getpid())&flowIDMask
	id := strconv.FormatUint(e.FlowID, 10)

	b := NewBus(BusConfig{})
	if err := b.Add("journald", NewJournald(JournaldConfig{Identifier: "septa-events-test"}), 8, 0); err != nil {
		t.Fatal(err)
	}
	b.Publish(e)
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := sinkStats(t, b, "journald"); st.Written != 1 {
		t.Fatalf("journald sink: %+v", st)
	}

	var got map[string]any
	var lastErr error
	found := poll(10*time.Second, 50*time.Millisecond, func() bool {
		out, err := exec.Command("journalctl", "--no-pager", "-o", "json", FieldFlowID+"="+id).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = errors.New(string(ee.Stderr))
			}
			lastErr = err
			return false
		}
		line, _, _ := bytes.Cut(bytes.TrimSpace(out), []byte("\n"))
		if len(line) == 0 {
			return false
		}
		lastErr = json.Unmarshal(line, &got)
		return lastErr == nil
	})
	if !found {
		t.Fatalf("no journal entry with %s=%s within 10s (last error: %v)", FieldFlowID, id, lastErr)
	}
	want := map[string]any{
		"MESSAGE":            Message(e, nil),
		"PRIORITY":           strconv.Itoa(int(journal.PriWarning)),
		"SYSLOG_IDENTIFIER":  "septa-events-test",
		"SEPTA_EVENT":        "alert",
		"SEPTA_FLOW_ID":      id,
		"SEPTA_RULE":         "web-in",
		"SEPTA_SID":          "2100498",
		"SEPTA_ALERT_ACTION": "blocked",
		"SEPTA_SRC":          "10.4.0.5:40000",
		"SEPTA_USER":         "bob",
		"SEPTA_GROUPS":       "hr,staff",
		"SEPTA_ZONE_SRC":     "vdi",
	}
	gotSome := map[string]any{}
	for k := range want {
		gotSome[k] = got[k]
	}
	if diff := cmp.Diff(want, gotSome); diff != "" {
		t.Errorf("journal entry (-want +got):\n%s", diff)
	}
}
