package appid

import "testing"

// Test data for POP3: curl 7.88.1 against Dovecot 2.3.19 (dovecot-pop3d)
// via a loopback recorder; see the file's header.

func TestDetectPOP3(t *testing.T) {
	in := func(toClient, toServer string) *Input {
		return &Input{Transport: TCP, ToClient: []byte(toClient), ToServer: []byte(toServer)}
	}
	tests := []detectCase{
		{name: "curl and dovecot", fixture: "pop3/curl-dovecot", want: Yes, fields: map[string]string{"command": "CAPA"}},
		{name: "dovecot greeting only", fixture: "pop3/curl-dovecot", view: serverOnly, want: Yes},
		{name: "greeting cut", in: in("+O", ""), want: More},
		{name: "USER", in: in("+OK ready\r\n", "USER bob\r\n"), want: Yes, fields: map[string]string{"command": "USER"}},
		{name: "a Redis reply is not a greeting", in: in("+OK\r\n", "SET k v\r\n"), want: No},
		{name: "redis-cli SET", fixture: "redis/redis-cli-set", view: func(in *Input) { in.ToClient = []byte("+OK\r\n") }, want: No},
		{name: "client first", in: in("", "USER bob\r\n"), want: No},
	}
	runDetectCases(t, detectPOP3, tests)
}

func FuzzDetectPOP3(f *testing.F) {
	fuzzSeeds(f, "pop3")
	fuzzDetect(f, detectPOP3, nil)
}
