package events

import "time"

// EVETimeLayout is Suricata's EVE timestamp: microseconds and a numeric
// zone without a colon ("2026-06-01T12:00:00.000000+0000"). Times are
// written in their own location: Suricata writes local time, so the
// daemon's clock (time.Now) gives the same.
const EVETimeLayout = "2006-01-02T15:04:05.000000-0700"

// The records below follow Suricata's EVE schema (doc/userguide/output/
// eve/eve-json-format.rst): field names and nesting are Suricata's, so
// that pipelines reading Suricata's EVE read septa's unchanged. Septa's
// own fields live under "septa", which Suricata never writes. The tags
// are the schema; eveappend.go writes it, and the tests check that it
// writes what encoding/json would.

type eveRecord struct {
	Timestamp string    `json:"timestamp"`
	FlowID    uint64    `json:"flow_id,omitempty"`
	EventType string    `json:"event_type"`
	SrcIP     string    `json:"src_ip,omitempty"`
	SrcPort   *uint16   `json:"src_port,omitempty"`
	DestIP    string    `json:"dest_ip,omitempty"`
	DestPort  *uint16   `json:"dest_port,omitempty"`
	Proto     string    `json:"proto,omitempty"`
	AppProto  string    `json:"app_proto,omitempty"`
	Alert     *eveAlert `json:"alert,omitempty"`
	Drop      *eveDrop  `json:"drop,omitempty"`
	Flow      *eveFlow  `json:"flow,omitempty"`
	Septa     *eveSepta `json:"septa,omitempty"`
	srcPort   uint16    // storage behind SrcPort
	destPort  uint16    // storage behind DestPort
	alerted   bool      // storage behind Flow.Alerted
	age       int64     // storage behind Flow.Age
	parts     eveParts  // storage behind the pointers
	stamp     [64]byte  // scratch for timestamps
}

type eveParts struct {
	alert eveAlert
	drop  eveDrop
	flow  eveFlow
	septa eveSepta
}

type eveAlert struct {
	Action      string `json:"action"`
	GID         uint32 `json:"gid"`
	SignatureID uint32 `json:"signature_id"`
	Rev         uint32 `json:"rev"`
	Signature   string `json:"signature"`
	Category    string `json:"category"`
	Severity    int    `json:"severity"`
}

type eveDrop struct {
	Reason string `json:"reason,omitempty"`
}

type eveFlow struct {
	PktsToServer  uint64 `json:"pkts_toserver"`
	PktsToClient  uint64 `json:"pkts_toclient"`
	BytesToServer uint64 `json:"bytes_toserver"`
	BytesToClient uint64 `json:"bytes_toclient"`
	Start         string `json:"start,omitempty"`
	End           string `json:"end,omitempty"`
	Age           *int64 `json:"age,omitempty"`
	State         string `json:"state,omitempty"`
	Reason        string `json:"reason,omitempty"`
	Alerted       *bool  `json:"alerted,omitempty"`
}

type eveSepta struct {
	Rule       string   `json:"rule,omitempty"`
	Verdict    string   `json:"verdict,omitempty"`
	Observe    bool     `json:"observe,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	App        string   `json:"app,omitempty"`
	User       string   `json:"user,omitempty"`
	Groups     []string `json:"groups,omitempty"`
	Process    string   `json:"process,omitempty"`
	Cmdline    string   `json:"cmdline,omitempty"`
	ZoneSrc    string   `json:"zone_src,omitempty"`
	ZoneDst    string   `json:"zone_dst,omitempty"`
	GroupsSrc  []string `json:"groups_src,omitempty"`
	GroupsDst  []string `json:"groups_dst,omitempty"`
	SNI        string   `json:"sni,omitempty"`
	HTTPHost   string   `json:"http_host,omitempty"`
	Generation uint64   `json:"generation,omitempty"`
	Revision   string   `json:"revision,omitempty"`
	Error      string   `json:"error,omitempty"`
	Decider    string   `json:"decider,omitempty"`
}

func (s *eveSepta) empty() bool {
	return s.Rule == "" && s.Verdict == "" && !s.Observe && s.Reason == "" && s.App == "" &&
		s.User == "" && len(s.Groups) == 0 && s.Process == "" && s.Cmdline == "" && s.ZoneSrc == "" &&
		s.ZoneDst == "" && len(s.GroupsSrc) == 0 && len(s.GroupsDst) == 0 && s.SNI == "" &&
		s.HTTPHost == "" && s.Generation == 0 && s.Revision == "" && s.Error == "" && s.Decider == ""
}

// EVEEncoder encodes events as EVE JSON lines, reusing its buffer and
// record between events. It is not safe for concurrent use.
type EVEEncoder struct {
	line []byte
	rec  eveRecord
}

// NewEVEEncoder returns an encoder.
func NewEVEEncoder() *EVEEncoder { return &EVEEncoder{} }

// Encode returns e as one EVE JSON line, ending in a newline. The bytes
// are valid until the next call. Strings that are not valid UTF-8 have
// their bad bytes replaced by U+FFFD (encoding/json's rule), and control
// characters are escaped, so a line never contains a raw newline.
// Suricata writes <, > and & as they are; so does septa (still valid
// JSON, and greppable). The error is always nil.
func (x *EVEEncoder) Encode(e *Event) ([]byte, error) {
	x.fill(e)
	x.line = appendRecord(x.line[:0], &x.rec)
	return x.line, nil
}

func (x *EVEEncoder) stamp(t time.Time) string {
	return string(t.AppendFormat(x.rec.stamp[:0], EVETimeLayout))
}

func (x *EVEEncoder) fill(e *Event) {
	r := &x.rec
	p := &r.parts
	*p = eveParts{}
	*r = eveRecord{parts: r.parts, stamp: r.stamp}
	r.Timestamp = x.stamp(e.Time)
	r.FlowID = e.FlowID
	r.EventType = EventType(e)
	if e.Src.IsValid() {
		r.SrcIP = e.Src.Addr().String()
	}
	if e.Dst.IsValid() {
		r.DestIP = e.Dst.Addr().String()
	}
	if hasPorts(e.Proto) {
		r.srcPort, r.destPort = e.Src.Port(), e.Dst.Port()
		if e.Src.IsValid() {
			r.SrcPort = &r.srcPort
		}
		if e.Dst.IsValid() {
			r.DestPort = &r.destPort
		}
	}
	if e.Src.IsValid() || e.Dst.IsValid() || e.Proto != 0 {
		r.Proto = ProtoName(e.Proto)
	}
	r.AppProto = e.AppProto
	if r.AppProto == "" && e.Kind == KindAppID {
		r.AppProto = AppProto(e.App)
	}

	switch e.Kind {
	case KindAlert:
		a := &p.alert
		*a = eveAlert{
			Action: e.Alert.Action, GID: e.Alert.GID, SignatureID: e.Alert.SID, Rev: e.Alert.Rev,
			Signature: e.Alert.Signature, Category: e.Alert.Category, Severity: e.Alert.Severity,
		}
		r.Alert = a
		if !e.Start.IsZero() {
			r.Flow = x.flow(e, false)
		}
	case KindDrop:
		p.drop.Reason = dropReason(e.Reason)
		r.Drop = &p.drop
		if !e.Start.IsZero() {
			r.Flow = x.flow(e, false)
		}
	case KindFlow:
		// A decision carries the packets seen so far; a flow record
		// (Suricata's flow event) the whole flow.
		r.Flow = x.flow(e, e.IsRecord())
	}

	s := &p.septa
	*s = eveSepta{
		Rule: e.Rule, Verdict: e.Action, Observe: e.Observe, Reason: e.Reason, App: e.App,
		User: e.User, Groups: e.Groups, Process: e.Process, Cmdline: e.Cmdline,
		ZoneSrc: e.ZoneSrc, ZoneDst: e.ZoneDst, GroupsSrc: e.GroupsSrc, GroupsDst: e.GroupsDst,
		SNI: e.SNI, HTTPHost: e.HTTPHost,
		Generation: e.Policy.Generation, Revision: e.Policy.Revision, Error: e.Policy.Error,
		Decider: e.Decider,
	}
	if !s.empty() {
		r.Septa = s
	}
}

// flow fills the flow object; full adds what only flow records carry.
func (x *EVEEncoder) flow(e *Event, full bool) *eveFlow {
	r := &x.rec
	f := &r.parts.flow
	*f = eveFlow{
		PktsToServer: e.PacketsToServer, PktsToClient: e.PacketsToClient,
		BytesToServer: e.BytesToServer, BytesToClient: e.BytesToClient,
	}
	if !e.Start.IsZero() {
		f.Start = x.stamp(e.Start)
	}
	if !full {
		return f
	}
	if !e.End.IsZero() {
		f.End = x.stamp(e.End)
		if !e.Start.IsZero() {
			// Suricata's age: whole seconds from start to end.
			r.age = int64(e.End.Sub(e.Start) / time.Second)
			f.Age = &r.age
		}
	}
	f.State, f.Reason = e.State, e.EndReason
	r.alerted = e.Alerted
	f.Alerted = &r.alerted
	return f
}

// dropReason maps septa's verdict reasons (packet.Reason's names) onto
// Suricata's drop reasons (its PKT_DROP_REASON_* strings), for drop.reason.
// The exact septa reason is in septa.reason.
func dropReason(reason string) string {
	switch reason {
	case "decode-error":
		return "decode error"
	case "flow-table-full":
		return "flow memcap"
	case "panic", "fail-mode":
		return "nfq error"
	case "evasion":
		return "stream reassembly"
	case "":
		return ""
	}
	// A policy rule, the policy default, a mismatched app, user or
	// process, a signature, a quarantine: all rules to Suricata.
	return "rules"
}
