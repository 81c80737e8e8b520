// Package events owns septa's event stream: the Event record for every
// kind of event (alert, flow, drop, policy change, app-ID result), the Bus
// that fans each event out to sinks without ever blocking the publisher,
// and the sinks themselves: journald with structured fields, an EVE JSON
// file in Suricata's schema, Prometheus counters, and a ring buffer for
// the control API.
//
// The publisher (the inspector, the IDS engine, the reload path) calls
// Bus.Publish, which hands the event to each sink's bounded queue and
// returns at once. Each sink runs in its own goroutine; a sink that falls
// behind loses events, and the loss is counted per sink (Bus.Stats and
// the septa_event_sink_dropped_total metric). A sink that fails (a full
// disk under the EVE file, journald gone) counts the error, keeps the
// last one for `septa status`, and carries on with the next event.
//
// It imports the standard library, inspect (for FromInspect), inspect's
// packet and rules/ir enums, go-systemd's journal package and the
// Prometheus client. Only daemon imports it.
package events
