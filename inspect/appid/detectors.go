package appid

// detectors are tried in this order and the first Yes wins: a protocol
// that refines another (gRPC of HTTP/2) comes before it. The order is
// data, kept in one place, rather than the order of init functions.
var detectors = []Detector{
	{App: HTTP, Transport: TCP, Detect: detectHTTP},
}
