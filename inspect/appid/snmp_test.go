package appid

import "testing"

// Test data for SNMP: snmpget 5.9.3 (snmp) v1, v2c and v3
// (noAuthNoPriv) requests to a loopback recorder; see the files' headers.

func TestDetectSNMP(t *testing.T) {
	tests := []detectCase{
		{name: "v2c", fixture: "snmp/snmpget-v2c", want: Yes, fields: map[string]string{"snmp_community": "public"}},
		{name: "v1", fixture: "snmp/snmpget-v1", want: Yes, fields: map[string]string{"snmp_community": "shop-ro"}},
		{name: "v3", fixture: "snmp/snmpget-v3", want: Yes},
		{name: "version 2", fixture: "snmp/snmpget-v2c", view: func(in *Input) { in.ToServer = withByte(in.ToServer, 4, 2) }, want: No},
		{name: "not a pdu", fixture: "snmp/snmpget-v2c", view: func(in *Input) { in.ToServer = withByte(in.ToServer, 13, 0x30) }, want: No},
		{name: "ldap", fixture: "ldap/ldapsearch-bind", want: No},
	}
	runDetectCases(t, detectSNMP, tests)
}

func FuzzDetectSNMP(f *testing.F) {
	fuzzSeeds(f, "snmp")
	fuzzDetect(f, detectSNMP, nil)
}
