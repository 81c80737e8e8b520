package events

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coreos/go-systemd/v22/journal"
)

// SendFunc sends one journal entry; journal.Send is the real one.
type SendFunc func(message string, priority journal.Priority, fields map[string]string) error

// JournaldConfig configures a Journald sink.
type JournaldConfig struct {
	// Identifier is SYSLOG_IDENTIFIER; "" is "septad".
	Identifier string
	// Send replaces journal.Send, for tests.
	Send SendFunc
}

// Journald is a Sink sending each event to the systemd journal as one
// entry: a human-readable MESSAGE, a PRIORITY by kind and verdict, and
// the structured fields of fields.go, so that `journalctl
// SEPTA_EVENT=alert` or `journalctl SEPTA_RULE=web-in` select entries.
// Empty fields are left out.
type Journald struct {
	send   SendFunc
	ident  string
	fields map[string]string // reused: the bus never calls Write concurrently
	msg    strings.Builder
}

var _ Sink = (*Journald)(nil)

// NewJournald returns a journald sink. It does not check that journald
// runs (journal.Enabled): a missing journal makes each Write fail, which
// the bus counts, and entries flow again once it is back.
func NewJournald(cfg JournaldConfig) *Journald {
	j := &Journald{send: cfg.Send, ident: cfg.Identifier, fields: make(map[string]string, 32)}
	if j.send == nil {
		j.send = journal.Send
	}
	if j.ident == "" {
		j.ident = "septad"
	}
	return j
}

// Write sends e to the journal.
func (j *Journald) Write(e *Event) error {
	clear(j.fields)
	JournalFields(e, j.fields)
	j.fields["SYSLOG_IDENTIFIER"] = j.ident
	return j.send(j.message(e), Priority(e), j.fields)
}

// Priority returns the journal priority of an event: warning for alerts
// and failed reloads, notice for drops, observe-mode would-be denials
// and applied policies, info for flows, debug for app-ID results.
func Priority(e *Event) journal.Priority {
	switch e.Kind {
	case KindAlert:
		return journal.PriWarning
	case KindDrop:
		return journal.PriNotice
	case KindFlow:
		if e.Observe || e.IsRecord() && e.Action != "allow" {
			return journal.PriNotice
		}
		return journal.PriInfo
	case KindPolicy:
		if e.Policy.Error != "" {
			return journal.PriErr
		}
		return journal.PriNotice
	case KindAppID:
		return journal.PriDebug
	}
	return journal.PriInfo
}

// JournalFields adds e's structured fields to m, leaving out empty ones.
func JournalFields(e *Event, m map[string]string) {
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put(FieldEvent, EventType(e))
	if e.FlowID != 0 {
		m[FieldFlowID] = strconv.FormatUint(e.FlowID, 10)
	}
	if e.Src.IsValid() {
		m[FieldSrc] = endpoint(e.Src, e.Proto)
	}
	if e.Dst.IsValid() {
		m[FieldDst] = endpoint(e.Dst, e.Proto)
	}
	if e.Proto != 0 {
		m[FieldProto] = protoLower(e.Proto)
	}
	if e.Kind == KindFlow || e.Kind == KindDrop {
		rule := e.Rule
		if rule == "" && e.Action != "" {
			rule = "default"
		}
		put(FieldRule, rule)
	} else {
		put(FieldRule, e.Rule)
	}
	put(FieldAction, e.Action)
	if e.Observe {
		m[FieldObserve] = "1"
	}
	put(FieldReason, e.Reason)
	put(FieldApp, e.App)
	put(FieldAppProto, e.AppProto)
	put(FieldUser, e.User)
	put(FieldGroups, strings.Join(e.Groups, ","))
	put(FieldProcess, e.Process)
	put(FieldCmdline, e.Cmdline)
	put(FieldZoneSrc, e.ZoneSrc)
	put(FieldZoneDst, e.ZoneDst)
	put(FieldGroupsSrc, strings.Join(e.GroupsSrc, ","))
	put(FieldGroupsDst, strings.Join(e.GroupsDst, ","))
	put(FieldSNI, e.SNI)
	put(FieldHTTPHost, e.HTTPHost)
	put(FieldDecider, e.Decider)
	if e.IsRecord() {
		m[FieldPktsToServer] = strconv.FormatUint(e.PacketsToServer, 10)
		m[FieldPktsToClient] = strconv.FormatUint(e.PacketsToClient, 10)
		m[FieldBytesToServer] = strconv.FormatUint(e.BytesToServer, 10)
		m[FieldBytesToClient] = strconv.FormatUint(e.BytesToClient, 10)
		if !e.Start.IsZero() {
			m[FieldStart] = e.Start.Format(time.RFC3339Nano)
		}
		m[FieldEnd] = e.End.Format(time.RFC3339Nano)
		put(FieldState, e.State)
		put(FieldEndReason, e.EndReason)
		if e.Alerted {
			m[FieldAlerted] = "1"
		}
	}
	if e.Kind == KindAlert {
		a := &e.Alert
		put(FieldAlertAction, a.Action)
		m[FieldGID] = strconv.FormatUint(uint64(a.GID), 10)
		m[FieldSID] = strconv.FormatUint(uint64(a.SID), 10)
		m[FieldRev] = strconv.FormatUint(uint64(a.Rev), 10)
		put(FieldSignature, a.Signature)
		put(FieldCategory, a.Category)
		m[FieldSeverity] = strconv.Itoa(a.Severity)
	}
	if e.Kind == KindPolicy {
		m[FieldGeneration] = strconv.FormatUint(e.Policy.Generation, 10)
		put(FieldRevision, e.Policy.Revision)
		put(FieldError, e.Policy.Error)
	}
}

// endpoint formats an address with its port, or alone for protocols
// without ports.
func endpoint(ap netip.AddrPort, proto uint8) string {
	if hasPorts(proto) {
		return ap.String()
	}
	return ap.Addr().String()
}

// message builds MESSAGE, e.g.
//
//	deny tcp 10.4.0.5:40000 -> 10.3.10.10:443 rule finance-users-to-finance-app app tls user bob (hr) process firefox zone vdi -> finance: app
//
// ending in the reason after the colon.
func (j *Journald) message(e *Event) string {
	return Message(e, &j.msg)
}

// Message returns the human-readable one-line summary of e that journald
// entries carry, using b as scratch (nil allocates one).
func Message(e *Event, b *strings.Builder) string {
	if b == nil {
		b = new(strings.Builder)
	}
	b.Reset()
	switch e.Kind {
	case KindPolicy:
		if e.Policy.Error != "" {
			b.WriteString("policy reload failed, the running policy stays: ")
			b.WriteString(e.Policy.Error)
			return b.String()
		}
		b.WriteString("policy applied: generation ")
		b.WriteString(strconv.FormatUint(e.Policy.Generation, 10))
		if e.Policy.Revision != "" {
			b.WriteString(" revision ")
			b.WriteString(printable(e.Policy.Revision))
		}
		return b.String()
	case KindAlert:
		b.WriteString("alert ")
		if e.Alert.Action != "" {
			b.WriteString(printable(e.Alert.Action))
			b.WriteByte(' ')
		}
		b.WriteString("sid ")
		b.WriteString(strconv.FormatUint(uint64(e.Alert.SID), 10))
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(uint64(e.Alert.Rev), 10))
		if e.Alert.Signature != "" {
			b.WriteByte(' ')
			b.WriteString(strconv.Quote(e.Alert.Signature))
		}
		b.WriteByte(' ')
	case KindAppID:
		b.WriteString("app ")
		if e.App != "" {
			b.WriteString(printable(e.App))
		} else {
			b.WriteString("unknown")
		}
		b.WriteByte(' ')
	default:
		if e.IsRecord() {
			b.WriteString("flow ended, ")
		}
		switch {
		case e.Observe:
			b.WriteString("would ")
			b.WriteString(printable(e.Action))
			b.WriteByte(' ')
		case e.Action != "":
			b.WriteString(printable(e.Action))
			b.WriteByte(' ')
		default:
			b.WriteString(e.Kind.String())
			b.WriteByte(' ')
		}
	}
	b.WriteString(protoLower(e.Proto))
	b.WriteByte(' ')
	b.WriteString(endpoint(e.Src, e.Proto))
	b.WriteString(" -> ")
	b.WriteString(endpoint(e.Dst, e.Proto))
	word := func(name, v string) {
		if v != "" {
			b.WriteByte(' ')
			b.WriteString(name)
			b.WriteByte(' ')
			b.WriteString(printable(v))
		}
	}
	rule := e.Rule
	if rule == "" && (e.Kind == KindFlow || e.Kind == KindDrop) && e.Action != "" {
		rule = "(default)"
	}
	word("rule", rule)
	if e.Kind != KindAppID {
		word("app", e.App)
	}
	word("sni", e.SNI)
	word("host", e.HTTPHost)
	word("user", e.User)
	if e.User != "" && len(e.Groups) > 0 {
		b.WriteString(" (")
		b.WriteString(printable(strings.Join(e.Groups, ",")))
		b.WriteByte(')')
	}
	word("process", e.Process)
	if e.ZoneSrc != "" || e.ZoneDst != "" {
		b.WriteString(" zone ")
		b.WriteString(printable(orDash(e.ZoneSrc)))
		b.WriteString(" -> ")
		b.WriteString(printable(orDash(e.ZoneDst)))
	}
	if e.IsRecord() {
		b.WriteString(" bytes ")
		b.WriteString(strconv.FormatUint(e.BytesToServer, 10))
		b.WriteByte('/')
		b.WriteString(strconv.FormatUint(e.BytesToClient, 10))
		b.WriteString(" packets ")
		b.WriteString(strconv.FormatUint(e.PacketsToServer, 10))
		b.WriteByte('/')
		b.WriteString(strconv.FormatUint(e.PacketsToClient, 10))
		if !e.Start.IsZero() {
			b.WriteString(" duration ")
			b.WriteString(e.End.Sub(e.Start).Round(time.Millisecond).String())
		}
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(printable(e.Reason))
		if e.Observe {
			b.WriteString(" (observe mode)")
		}
	}
	return b.String()
}

// printable quotes s (Go syntax) when it holds spaces, control
// characters or invalid UTF-8: SNI, Host and user names come from the
// network, and must not forge a second line or field in a message.
func printable(s string) string {
	for i, r := range s {
		if r <= ' ' || r == 0x7f || r == '"' || (r == utf8.RuneError && isBadRune(s[i:])) || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func isBadRune(s string) bool {
	_, n := utf8.DecodeRuneInString(s)
	return n == 1
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
