// Package benchkit holds what septa's benchmarks share: the integration
// package's testing.B benchmarks and `make bench`'s harness
// (integration/bench) measure with the same workloads (iperf3, short
// request/response connections, HTTP downloads), the same generated
// policies and captures, and summarize rounds the same way.
//
// It is benchmark infrastructure, not shipped; it must not import testing
// (functions return errors instead).
package benchkit
