package appid

import "testing"

// Test data for RDP: FreeRDP 2.11.7 xfreerdp (under xvfb-run) connecting
// to a loopback recorder, with /u:alice and without a user (it then sends
// the login name, root); see the files' headers.

func TestDetectRDP(t *testing.T) {
	tests := []detectCase{
		{name: "xfreerdp", fixture: "rdp/xfreerdp", want: Yes, fields: map[string]string{"rdp_cookie": "alice"}},
		{name: "xfreerdp no user", fixture: "rdp/xfreerdp-no-user", want: Yes, fields: map[string]string{"rdp_cookie": "root"}},
		{name: "tpkt header only", fixture: "rdp/xfreerdp", view: cut(4), want: More},
		{name: "cut in cookie", fixture: "rdp/xfreerdp", view: cut(20), want: More},
		{name: "no cookie, neg req only", in: &Input{Transport: TCP, ToServer: []byte{3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0, 1, 0, 8, 0, 3, 0, 0, 0}}, want: Yes},
		{name: "connection confirm", in: &Input{Transport: TCP, ToServer: []byte{3, 0, 0, 11, 6, 0xd0, 0, 0, 0, 0, 0}}, want: No},
		{name: "wrong length indicator", in: &Input{Transport: TCP, ToServer: []byte{3, 0, 0, 11, 7, 0xe0, 0, 0, 0, 0, 0}}, want: No},
	}
	runDetectCases(t, detectRDP, tests)
}

func FuzzDetectRDP(f *testing.F) {
	fuzzSeeds(f, "rdp")
	fuzzDetect(f, detectRDP, nil)
}
