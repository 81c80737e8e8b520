package appid

import "testing"

// Test data for LDAP: ldapsearch and ldapwhoami 2.5.13 (ldap-utils)
// against a loopback recorder: a simple bind, an anonymous bind followed
// by a search (the recorder answered the bind with success), and a
// StartTLS extended request; see the files' headers.

func TestDetectLDAP(t *testing.T) {
	tests := []detectCase{
		{name: "bind", fixture: "ldap/ldapsearch-bind", want: Yes},
		{name: "anonymous bind and search", fixture: "ldap/ldapsearch-anon", want: Yes},
		{name: "starttls", fixture: "ldap/ldapwhoami-starttls", want: Yes},
		{name: "cut in the message id", fixture: "ldap/ldapsearch-bind", view: cut(3), want: More},
		{name: "bind version 4", in: &Input{Transport: TCP, ToServer: []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x04, 0x04, 0x00, 0x80, 0x00}}, want: No},
		{name: "response op", in: &Input{Transport: TCP, ToServer: []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00}}, want: No},
		{name: "message id 0", in: &Input{Transport: TCP, ToServer: []byte{0x30, 0x0c, 0x02, 0x01, 0x00, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00}}, want: No},
		{name: "snmp", fixture: "snmp/snmpget-v2c", want: No},
	}
	runDetectCases(t, detectLDAP, tests)
}

func FuzzDetectLDAP(f *testing.F) {
	fuzzSeeds(f, "ldap")
	fuzzDetect(f, detectLDAP, nil)
}
