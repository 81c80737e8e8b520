package appid

import "testing"

// Test data for Kerberos: MIT kinit 1.20.1 (krb5-user) sending an AS-REQ
// to a loopback recorder, over UDP and over TCP (udp_preference_limit =
// 1); see the files' headers for the krb5.conf used.

func TestDetectKerberos(t *testing.T) {
	tests := []detectCase{
		{name: "as-req udp", fixture: "kerberos/kinit-udp", want: Yes},
		{name: "as-req tcp", fixture: "kerberos/kinit-tcp", want: Yes},
		{name: "tcp record mark only", fixture: "kerberos/kinit-tcp", view: cut(4), want: More},
		{name: "tcp cut in pvno", fixture: "kerberos/kinit-tcp", view: cut(12), want: More},
		{name: "udp bytes over tcp", fixture: "kerberos/kinit-udp", view: func(in *Input) { in.Transport = TCP }, want: No},
		{name: "pvno 4", fixture: "kerberos/kinit-udp", view: func(in *Input) { in.ToServer = withByte(in.ToServer, 10, 4) }, want: No},
		{name: "msg-type mismatch", fixture: "kerberos/kinit-udp", view: func(in *Input) { in.ToServer = withByte(in.ToServer, 15, 12) }, want: No},
		{name: "ldap", fixture: "ldap/ldapsearch-bind", want: No},
	}
	runDetectCases(t, detectKerberos, tests)
}

func FuzzDetectKerberos(f *testing.F) {
	fuzzSeeds(f, "kerberos")
	fuzzDetect(f, detectKerberos, nil)
}
