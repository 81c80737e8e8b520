package appid

import "testing"

// Test data for IMAP: curl 7.88.1 against Dovecot 2.3.19 (dovecot-imapd)
// via a loopback recorder; see the file's header.

func TestDetectIMAP(t *testing.T) {
	in := func(toClient, toServer string) *Input {
		return &Input{Transport: TCP, ToClient: []byte(toClient), ToServer: []byte(toServer)}
	}
	tests := []detectCase{
		{name: "curl and dovecot", fixture: "imap/curl-dovecot", want: Yes, fields: map[string]string{"command": "CAPABILITY"}},
		{name: "dovecot greeting only", fixture: "imap/curl-dovecot", view: serverOnly, want: Yes},
		{name: "greeting cut", in: in("* O", ""), want: More},
		{name: "PREAUTH", in: in("* PREAUTH ready\r\n", ""), want: Yes},
		{name: "tag cut, greeting decides", in: in("* OK ready\r\n", "A00"), want: Yes},
		{name: "unknown command, greeting decides", in: in("* OK ready\r\n", "A001 FROB\r\n"), want: Yes},
		{name: "greeting cut, command cut", in: in("* O", "A00"), want: More},
		{name: "POP3 greeting", fixture: "pop3/curl-dovecot", want: No},
		{name: "client first", in: in("", "a1 LOGIN x y\r\n"), want: No},
	}
	runDetectCases(t, detectIMAP, tests)
}

func FuzzDetectIMAP(f *testing.F) {
	fuzzSeeds(f, "imap")
	fuzzDetect(f, detectIMAP, nil)
}
