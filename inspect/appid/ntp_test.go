package appid

import "testing"

// Test data for NTP: sntp 4.2.8p15 (sntp) querying a loopback recorder
// on port 123; see the file's header.

func TestDetectNTP(t *testing.T) {
	reply := make([]byte, 48)
	reply[0] = 0x24 // LI 0, VN 4, mode 4 (server)
	tests := []detectCase{
		{name: "sntp", fixture: "ntp/sntp", want: Yes},
		{name: "sntp with server reply", fixture: "ntp/sntp", view: func(in *Input) { in.ToClient = reply }, want: Yes},
		{name: "reply of another mode", fixture: "ntp/sntp", view: func(in *Input) { in.ToClient = withByte(reply, 0, 0x23) }, want: No},
		{name: "short", fixture: "ntp/sntp", view: cut(47), want: No},
		{name: "version 0", fixture: "ntp/sntp", view: func(in *Input) { in.ToServer = withByte(in.ToServer, 0, 0x03) }, want: No},
		{name: "server mode from client", fixture: "ntp/sntp", view: func(in *Input) { in.ToServer = withByte(in.ToServer, 0, 0x24) }, want: No},
		{name: "stratum 17", fixture: "ntp/sntp", view: func(in *Input) { in.ToServer = withByte(in.ToServer, 1, 17) }, want: No},
		{name: "dns", fixture: "dns/dig-udp", want: No},
	}
	runDetectCases(t, detectNTP, tests)
}

func FuzzDetectNTP(f *testing.F) {
	fuzzSeeds(f, "ntp")
	fuzzDetect(f, detectNTP, nil)
}
