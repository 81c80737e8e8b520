// Package flowmap turns flow records into what an operator needs before
// segmenting an application: the communication map (who talks to whom,
// on which services, with which applications and users, and what the
// policy said), a policy proposal that allows exactly the observed
// legitimate flows, and the impact of a candidate policy on recorded
// flows.
//
// It is pure: flow records (events.Event, from septad's control API or an
// EVE file) and a policy and inventory in, data out. Nothing here touches
// the kernel; rendering SVG runs Graphviz's dot when it is installed.
//
// It imports the standard library, rules, rules/ir, inspect (the
// userspace policy evaluator, so that the impact preview is the code that
// enforces) and daemon/events. Only cmd/septa imports it.
package flowmap
