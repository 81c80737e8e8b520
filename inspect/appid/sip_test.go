package appid

import "testing"

// Test data for SIP: sipsak 0.9.8.1 OPTIONS requests over UDP and TCP to
// a loopback recorder; see the files' headers.

func TestDetectSIP(t *testing.T) {
	in := func(tr Transport, toServer, toClient string) *Input {
		return &Input{Transport: tr, ToServer: []byte(toServer), ToClient: []byte(toClient)}
	}
	tests := []detectCase{
		{name: "sipsak udp", fixture: "sip/sipsak-options-udp", want: Yes, fields: map[string]string{"command": "OPTIONS"}},
		{name: "sipsak tcp", fixture: "sip/sipsak-options-tcp", want: Yes, fields: map[string]string{"command": "OPTIONS"}},
		{name: "tcp cut", fixture: "sip/sipsak-options-tcp", view: cut(10), want: More},
		{name: "status line udp", in: in(UDP, "SIP/2.0 200 OK\r\nVia: x\r\n", ""), want: Yes},
		{name: "response seen from server", in: in(UDP, "", "SIP/2.0 180 Ringing\r\n"), want: Yes},
		{name: "lower-case method", in: in(UDP, "invite sip:a@b SIP/2.0\r\n", ""), want: No},
		{name: "http uri", in: in(TCP, "OPTIONS http://x/ SIP/2.0\r\n", ""), want: No},
		{name: "http request", in: in(TCP, "OPTIONS * HTTP/1.1\r\n", ""), want: No},
	}
	runDetectCases(t, detectSIP, tests)
}

func FuzzDetectSIP(f *testing.F) {
	fuzzSeeds(f, "sip")
	fuzzDetect(f, detectSIP, nil)
}
