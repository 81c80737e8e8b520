package appid

import "testing"

// Test data for PostgreSQL: psql 15 (postgresql-client-15) connecting to
// a loopback recorder with sslmode=disable (StartupMessage) and
// sslmode=require (SSLRequest), and psql's CancelRequest when
// interrupted (testdata/capture pgcancel.go); see the files' headers.
// A GSSENCRequest could not be had from psql without a Kerberos ticket;
// it is checked on its documented 8-byte layout.

func TestDetectPostgreSQL(t *testing.T) {
	tests := []detectCase{
		{name: "psql startup", fixture: "postgresql/psql-startup", want: Yes, fields: map[string]string{"user": "alice"}},
		{name: "psql sslrequest", fixture: "postgresql/psql-sslrequest", want: Yes},
		{name: "gssencrequest", in: &Input{Transport: TCP, ToServer: []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30}}, want: Yes},
		{name: "psql cancelrequest", fixture: "postgresql/psql-cancelrequest", want: Yes},
		{name: "startup cut", fixture: "postgresql/psql-startup", view: cut(20), want: More},
		{name: "length only", fixture: "postgresql/psql-startup", view: cut(3), want: More},
		{name: "startup missing terminator", in: &Input{Transport: TCP, ToServer: []byte("\x00\x00\x00\x0f\x00\x03\x00\x00user\x00bob\x00")}, want: No},
		{name: "protocol 2", in: &Input{Transport: TCP, ToServer: []byte("\x00\x00\x00\x10\x00\x02\x00\x00user\x00bob\x00\x00")}, want: No},
		{name: "sslrequest wrong length", in: &Input{Transport: TCP, ToServer: []byte{0, 0, 0, 9, 0x04, 0xd2, 0x16, 0x2f, 0}}, want: No},
		{name: "ssh", fixture: "ssh/x-crypto-ssh", want: No},
	}
	runDetectCases(t, detectPostgreSQL, tests)
}

func FuzzDetectPostgreSQL(f *testing.F) {
	fuzzSeeds(f, "postgresql")
	fuzzDetect(f, detectPostgreSQL, nil)
}
