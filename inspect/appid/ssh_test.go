package appid

import (
	"bytes"
	"testing"
)

// Test data for SSH (see each file's header):
//   - testdata/ssh/openssh-client-server.hex: OpenSSH 9.2p1 ssh client
//     and Debian's sshd, both directions through a loopback recorder;
//   - testdata/ssh/x-crypto-ssh.hex: golang.org/x/crypto/ssh client and
//     server (the server the lab runs on 5432).

func TestDetectSSH(t *testing.T) {
	tests := []detectCase{
		{name: "openssh client", fixture: "ssh/openssh-client-server", want: Yes,
			fields: map[string]string{"ssh_proto": "2.0", "ssh_software": "OpenSSH_9.2p1"}},
		{name: "openssh server only", fixture: "ssh/openssh-client-server", view: serverOnly, want: Yes,
			fields: map[string]string{"ssh_proto": "2.0", "ssh_software": "OpenSSH_9.2p1", "ssh_from_server": "true"}},
		{name: "x/crypto client", fixture: "ssh/x-crypto-ssh", want: Yes,
			fields: map[string]string{"ssh_proto": "2.0", "ssh_software": "Go"}},
		{name: "x/crypto server only", fixture: "ssh/x-crypto-ssh", view: serverOnly, want: Yes,
			fields: map[string]string{"ssh_proto": "2.0", "ssh_software": "Go", "ssh_from_server": "true"}},
		{name: "client line not ended, server's decides", fixture: "ssh/openssh-client-server", view: cut(20), want: Yes,
			fields: map[string]string{"ssh_proto": "2.0", "ssh_software": "OpenSSH_9.2p1", "ssh_from_server": "true"}},
		{name: "client line not ended", fixture: "ssh/openssh-client-server", view: func(in *Input) { in.ToServer, in.ToClient = in.ToServer[:20], nil }, want: More},
		{name: "client line cut at CR", in: &Input{Transport: TCP, ToServer: []byte("SSH-2.0-Go\r")}, want: More},
		{name: "prefix", in: &Input{Transport: TCP, ToServer: []byte("SS")}, want: More},
		{name: "nothing yet", in: &Input{Transport: TCP}, want: More},
		{name: "server pre-lines", in: &Input{Transport: TCP, ToClient: []byte("Welcome\r\nSSH-1.99-Legacy_1.0\r\n")}, want: Yes,
			fields: map[string]string{"ssh_proto": "1.99", "ssh_software": "Legacy_1.0", "ssh_from_server": "true"}},
		{name: "no software", in: &Input{Transport: TCP, ToServer: []byte("SSH-2.0-\r\n")}, want: No},
		{name: "bad proto", in: &Input{Transport: TCP, ToServer: []byte("SSH-x.y-Foo\r\n")}, want: No},
		{name: "too long", in: &Input{Transport: TCP, ToServer: append([]byte("SSH-2.0-"), bytes.Repeat([]byte("a"), 300)...)}, want: No},
		{name: "http", in: &Input{Transport: TCP, ToServer: []byte("GET / HTTP/1.1\r\n")}, want: No},
	}
	runDetectCases(t, detectSSH, tests)
}

func FuzzDetectSSH(f *testing.F) {
	fuzzSeeds(f, "ssh")
	fuzzDetect(f, detectSSH, func(t *testing.T, in *Input, info *Info) {
		if len(info.SSHProto) == 0 || len(info.SSHSoftware) == 0 {
			t.Errorf("SSH without proto or software: %q %q", info.SSHProto, info.SSHSoftware)
		}
	})
}
