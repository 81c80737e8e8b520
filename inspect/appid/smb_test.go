package appid

import "testing"

// Test data for SMB: smbclient 4.17.12 (smbclient -L) against a loopback
// recorder: its default SMB2 NEGOTIATE, and with client min protocol NT1
// the SMB1 NEGOTIATE that offers SMB2 dialects; see the files' headers.

func TestDetectSMB(t *testing.T) {
	tests := []detectCase{
		{name: "smb2 negotiate", fixture: "smb/smbclient-smb2", want: Yes},
		{name: "smb1 negotiate offering smb2", fixture: "smb/smbclient-smb1-negotiate", want: Yes},
		{name: "netbios header only", fixture: "smb/smbclient-smb2", view: cut(4), want: More},
		{name: "smb1 cut", fixture: "smb/smbclient-smb1-negotiate", view: cut(40), want: More},
		{name: "smb1 without smb2 dialects", in: &Input{Transport: TCP, ToServer: smb1NegotiateRequest([]string{"NT LM 0.12"})}, want: No},
		{name: "smb1 with smb2 dialect", in: &Input{Transport: TCP, ToServer: smb1NegotiateRequest([]string{"NT LM 0.12", "SMB 2.002"})}, want: Yes},
		{name: "bad smb2 structure size", fixture: "smb/smbclient-smb2", view: func(in *Input) { in.ToServer = withByte(in.ToServer, 8, 0x41) }, want: No},
		{name: "kerberos tcp", fixture: "kerberos/kinit-tcp", want: No},
	}
	runDetectCases(t, detectSMB, tests)
}

// smb1NegotiateRequest builds an SMB1 NEGOTIATE request with the given dialects
// (MS-CIFS 2.2.4.52.1), for the dialect checks.
func smb1NegotiateRequest(dialects []string) []byte {
	var d []byte
	for _, s := range dialects {
		d = append(append(append(d, 2), s...), 0)
	}
	m := append([]byte("\xffSMB\x72"), make([]byte, 27)...)
	m = append(m, 0, byte(len(d)), byte(len(d)>>8))
	m = append(m, d...)
	return append([]byte{0, 0, byte(len(m) >> 8), byte(len(m))}, m...)
}

func FuzzDetectSMB(f *testing.F) {
	fuzzSeeds(f, "smb")
	fuzzDetect(f, detectSMB, nil)
}
