package events

import (
	"github.com/septa-fw/septa/inspect"
	"github.com/septa-fw/septa/rules/ir"
)

// FromInspect converts the inspector's decision on a flow into an event:
// KindDrop when the flow was denied or rejected, KindFlow when it was
// allowed or observe mode let it pass.
//
// inspect.Event carries no flow start, and the inspector decides within
// a flow's first packets, so the decision time stands for the start in
// Start and in FlowID. Zones and address groups are not the inspector's
// to know; the daemon fills them from the inventory. The slices are
// shared with e, which the inspector does not modify after emitting it.
func FromInspect(e *inspect.Event) *Event {
	kind := KindFlow
	if !e.Observe && (e.Action == ir.ActionDeny || e.Action == ir.ActionReject) {
		kind = KindDrop
	}
	var alert Alert
	if a := e.Alert; a != nil {
		kind = KindAlert
		alert = Alert{Action: AlertAllowed, GID: a.GID, SID: a.SID, Rev: a.Rev, Signature: a.Msg,
			Category: a.Class, Severity: int(a.Priority)}
		if e.Action != ir.ActionAllow {
			alert.Action = AlertBlocked
		}
	}
	return &Event{
		Alert:           alert,
		Kind:            kind,
		Time:            e.Time,
		FlowID:          FlowID(e.Src, e.Dst, e.Proto, e.Time),
		Src:             e.Src,
		Dst:             e.Dst,
		Proto:           e.Proto,
		App:             e.App,
		AppProto:        AppProto(e.App),
		Rule:            e.Rule,
		Action:          e.Action.String(),
		Observe:         e.Observe,
		Reason:          e.Reason.String(),
		User:            e.User,
		Groups:          e.Groups,
		Process:         e.Process,
		Cmdline:         e.Cmdline,
		SNI:             e.SNI,
		HTTPHost:        e.HTTPHost,
		PacketsToServer: uint64(e.Packets[0]),
		PacketsToClient: uint64(e.Packets[1]),
		Start:           e.Time,
		Decider:         DeciderInspector,
	}
}

// InspectorSink adapts a Bus to the inspector's inspect.Sink: each flow
// decision is converted with FromInspect, completed by Enrich if set (the
// daemon adds zones and address groups from the inventory), and
// published. Emit never blocks, as inspect.Sink requires; Enrich runs on
// the inspector's worker and must be quick and allocation-light.
type InspectorSink struct {
	Bus    *Bus
	Enrich func(*Event)
}

var _ inspect.Sink = InspectorSink{}

// Emit publishes the inspector's event.
func (s InspectorSink) Emit(e *inspect.Event) {
	ev := FromInspect(e)
	if s.Enrich != nil {
		s.Enrich(ev)
	}
	s.Bus.Publish(ev)
}
