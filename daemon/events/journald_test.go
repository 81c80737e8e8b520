package events

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/google/go-cmp/cmp"
)

type sent struct {
	Message  string
	Priority journal.Priority
	Fields   map[string]string
}

// fakeJournal records what a Journald sink sends.
type fakeJournal struct{ entries []sent }

func (f *fakeJournal) send(msg string, pri journal.Priority, fields map[string]string) error {
	cp := make(map[string]string, len(fields))
	for k, v := range fields {
		cp[k] = v
	}
	f.entries = append(f.entries, sent{msg, pri, cp})
	return nil
}

func TestJournald(t *testing.T) {
	financeDeny := &Event{
		Kind: KindDrop, FlowID: 42, Time: t0,
		Src: netip.MustParseAddrPort("10.4.0.5:40000"), Dst: netip.MustParseAddrPort("10.3.10.10:443"), Proto: 6,
		App: "tls", AppProto: "tls", Rule: "finance-users-to-finance-app", Action: "deny", Reason: "user",
		User: "bob", Groups: []string{"hr"}, Process: "firefox", ZoneSrc: "vdi", ZoneDst: "finance",
		SNI: "finance.example.com",
	}
	observed := &Event{
		Kind: KindFlow, FlowID: 43, Src: netip.MustParseAddrPort("10.4.0.5:40001"),
		Dst: netip.MustParseAddrPort("10.3.10.10:5432"), Proto: 6, App: "unknown", AppProto: "failed",
		Action: "deny", Observe: true, Reason: "app", Rule: "db-in",
	}
	icmp := &Event{
		Kind: KindDrop, FlowID: 44, Src: netip.MustParseAddrPort("192.0.2.9:0"),
		Dst: netip.MustParseAddrPort("10.3.10.10:0"), Proto: 1, Action: "deny", Reason: "default",
	}
	hostile := &Event{
		Kind: KindFlow, FlowID: 45, Src: netip.MustParseAddrPort("10.4.0.5:40002"),
		Dst: netip.MustParseAddrPort("10.3.10.10:80"), Proto: 6, App: "http", Action: "allow",
		Reason: "policy", Rule: "web-in", HTTPHost: "evil\nSEPTA_EVENT=alert",
	}
	tests := []struct {
		name  string
		event *Event
		want  sent
	}{
		{
			name:  "drop",
			event: financeDeny,
			want: sent{
				Message:  "deny tcp 10.4.0.5:40000 -> 10.3.10.10:443 rule finance-users-to-finance-app app tls sni finance.example.com user bob (hr) process firefox zone vdi -> finance: user",
				Priority: journal.PriNotice,
				Fields: map[string]string{
					"SYSLOG_IDENTIFIER": "septad", "SEPTA_EVENT": "drop", "SEPTA_FLOW_ID": "42",
					"SEPTA_SRC": "10.4.0.5:40000", "SEPTA_DST": "10.3.10.10:443", "SEPTA_PROTO": "tcp",
					"SEPTA_RULE": "finance-users-to-finance-app", "SEPTA_ACTION": "deny", "SEPTA_REASON": "user",
					"SEPTA_APP": "tls", "SEPTA_APP_PROTO": "tls", "SEPTA_USER": "bob", "SEPTA_GROUPS": "hr",
					"SEPTA_PROCESS": "firefox", "SEPTA_ZONE_SRC": "vdi", "SEPTA_ZONE_DST": "finance",
					"SEPTA_SNI": "finance.example.com",
				},
			},
		},
		{
			name:  "flow record",
			event: sampleFlow(),
			want: sent{
				Message: "flow ended, allow tcp 10.4.0.5:40001 -> 10.3.10.10:443 rule finance-users-to-finance-app app tls sni finance.example.com" +
					" user alice (finance,staff) process curl zone vdi -> finance bytes 2048/40960 packets 12/10 duration 1m30s: policy",
				Priority: journal.PriInfo,
				Fields: map[string]string{
					"SYSLOG_IDENTIFIER": "septad", "SEPTA_EVENT": "flow", "SEPTA_FLOW_ID": "911829385190421",
					"SEPTA_SRC": "10.4.0.5:40001", "SEPTA_DST": "10.3.10.10:443", "SEPTA_PROTO": "tcp",
					"SEPTA_RULE": "finance-users-to-finance-app", "SEPTA_ACTION": "allow", "SEPTA_REASON": "policy",
					"SEPTA_APP": "tls", "SEPTA_APP_PROTO": "tls", "SEPTA_USER": "alice", "SEPTA_GROUPS": "finance,staff",
					"SEPTA_PROCESS": "curl", "SEPTA_ZONE_SRC": "vdi", "SEPTA_ZONE_DST": "finance", "SEPTA_SNI": "finance.example.com",
					"SEPTA_PKTS_TOSERVER": "12", "SEPTA_PKTS_TOCLIENT": "10", "SEPTA_BYTES_TOSERVER": "2048", "SEPTA_BYTES_TOCLIENT": "40960",
					"SEPTA_START": "2026-06-01T11:58:30.123456Z", "SEPTA_END": "2026-06-01T12:00:00.123456Z",
					"SEPTA_STATE": "closed", "SEPTA_END_REASON": "timeout",
				},
			},
		},
		{
			name:  "observe",
			event: observed,
			want: sent{
				Message:  "would deny tcp 10.4.0.5:40001 -> 10.3.10.10:5432 rule db-in app unknown: app (observe mode)",
				Priority: journal.PriNotice,
				Fields: map[string]string{
					"SYSLOG_IDENTIFIER": "septad", "SEPTA_EVENT": "verdict", "SEPTA_FLOW_ID": "43",
					"SEPTA_SRC": "10.4.0.5:40001", "SEPTA_DST": "10.3.10.10:5432", "SEPTA_PROTO": "tcp",
					"SEPTA_RULE": "db-in", "SEPTA_ACTION": "deny", "SEPTA_OBSERVE": "1", "SEPTA_REASON": "app",
					"SEPTA_APP": "unknown", "SEPTA_APP_PROTO": "failed",
				},
			},
		},
		{
			name:  "icmp by default",
			event: icmp,
			want: sent{
				Message:  "deny icmp 192.0.2.9 -> 10.3.10.10 rule (default): default",
				Priority: journal.PriNotice,
				Fields: map[string]string{
					"SYSLOG_IDENTIFIER": "septad", "SEPTA_EVENT": "drop", "SEPTA_FLOW_ID": "44",
					"SEPTA_SRC": "192.0.2.9", "SEPTA_DST": "10.3.10.10", "SEPTA_PROTO": "icmp",
					"SEPTA_RULE": "default", "SEPTA_ACTION": "deny", "SEPTA_REASON": "default",
				},
			},
		},
		{
			name:  "alert",
			event: sampleAlert(),
			want: sent{
				Message: `alert blocked sid 2100498:7 "GPL ATTACK_RESPONSE id check returned root <\"uid=0\">" ` +
					"tcp 10.4.0.5:40000 -> 10.3.10.10:80 rule web-in app http host app.example.com user bob (hr) process firefox zone vdi -> prod: policy",
				Priority: journal.PriWarning,
				Fields: map[string]string{
					"SYSLOG_IDENTIFIER": "septad", "SEPTA_EVENT": "alert",
					"SEPTA_FLOW_ID": "315009815264569",
					"SEPTA_SRC":     "10.4.0.5:40000", "SEPTA_DST": "10.3.10.10:80", "SEPTA_PROTO": "tcp",
					"SEPTA_RULE": "web-in", "SEPTA_ACTION": "allow", "SEPTA_REASON": "policy",
					"SEPTA_APP": "http", "SEPTA_APP_PROTO": "http", "SEPTA_USER": "bob", "SEPTA_GROUPS": "hr",
					"SEPTA_PROCESS": "firefox", "SEPTA_ZONE_SRC": "vdi", "SEPTA_ZONE_DST": "prod",
					"SEPTA_GROUPS_SRC": "desktops", "SEPTA_GROUPS_DST": "web",
					"SEPTA_HTTP_HOST": "app.example.com", "SEPTA_ALERT_ACTION": "blocked",
					"SEPTA_GID": "1", "SEPTA_SID": "2100498", "SEPTA_REV": "7",
					"SEPTA_SIGNATURE": `GPL ATTACK_RESPONSE id check returned root <"uid=0">`,
					"SEPTA_CATEGORY":  "Potentially Bad Traffic", "SEPTA_SEVERITY": "2",
				},
			},
		},
		{
			name:  "policy error",
			event: samplePolicy(),
			want: sent{
				Message:  `policy reload failed, the running policy stays: policy.d/20-web.toml:14:7: rule "web-in": dst: prefix length out of range`,
				Priority: journal.PriErr,
				Fields: map[string]string{
					"SYSLOG_IDENTIFIER": "septad", "SEPTA_EVENT": "policy", "SEPTA_GENERATION": "0",
					"SEPTA_REVISION": "3f2a9c",
					"SEPTA_ERROR":    `policy.d/20-web.toml:14:7: rule "web-in": dst: prefix length out of range`,
				},
			},
		},
		{
			name:  "policy applied",
			event: &Event{Kind: KindPolicy, Policy: Policy{Generation: 7, Revision: "3f2a9c"}},
			want: sent{
				Message:  "policy applied: generation 7 revision 3f2a9c",
				Priority: journal.PriNotice,
				Fields: map[string]string{
					"SYSLOG_IDENTIFIER": "septad", "SEPTA_EVENT": "policy", "SEPTA_GENERATION": "7",
					"SEPTA_REVISION": "3f2a9c",
				},
			},
		},
		{
			name:  "network text is quoted",
			event: hostile,
			want: sent{
				Message:  `allow tcp 10.4.0.5:40002 -> 10.3.10.10:80 rule web-in app http host "evil\nSEPTA_EVENT=alert": policy`,
				Priority: journal.PriInfo,
				Fields: map[string]string{
					"SYSLOG_IDENTIFIER": "septad", "SEPTA_EVENT": "verdict", "SEPTA_FLOW_ID": "45",
					"SEPTA_SRC": "10.4.0.5:40002", "SEPTA_DST": "10.3.10.10:80", "SEPTA_PROTO": "tcp",
					"SEPTA_RULE": "web-in", "SEPTA_ACTION": "allow", "SEPTA_REASON": "policy",
					"SEPTA_APP": "http", "SEPTA_HTTP_HOST": "evil\nSEPTA_EVENT=alert",
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeJournal{}
			j := NewJournald(JournaldConfig{Send: fake.send})
			if err := j.Write(tt.event); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]sent{tt.want}, fake.entries); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for k := range fake.entries[0].Fields {
				if !validField(k) {
					t.Errorf("field %q is not a valid journald field name", k)
				}
			}
		})
	}
}

func TestFieldNames(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Fields {
		if !validField(f) || !strings.HasPrefix(f, "SEPTA_") {
			t.Errorf("%q: not a valid SEPTA_ journald field", f)
		}
		if seen[f] {
			t.Errorf("%q listed twice", f)
		}
		seen[f] = true
	}
	// Every field JournalFields can produce is listed in Fields.
	m := map[string]string{}
	JournalFields(sampleAlert(), m)
	JournalFields(&Event{Kind: KindPolicy, Policy: Policy{Generation: 1, Revision: "r", Error: "e"}}, m)
	JournalFields(&Event{Kind: KindFlow, Observe: true, SNI: "x"}, m)
	for k := range m {
		if !seen[k] {
			t.Errorf("JournalFields wrote %q, which Fields does not list", k)
		}
	}
}

func TestFieldFor(t *testing.T) {
	tests := []struct {
		name, key, want string
	}{
		{name: "plain", key: "rule", want: FieldRule},
		{name: "underscore", key: "zone_src", want: FieldZoneSrc},
		{name: "dot", key: "flow.id", want: FieldFlowID},
		{name: "dash and unicode", key: "http-hoſt", want: "SEPTA_HTTP_HO__T"},
		{name: "empty", key: "", want: "SEPTA_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FieldFor(tt.key)
			if got != tt.want {
				t.Errorf("FieldFor(%q) = %q, want %q", tt.key, got, tt.want)
			}
			if !validField(got) {
				t.Errorf("FieldFor(%q) = %q is not a valid field name", tt.key, got)
			}
		})
	}
}
