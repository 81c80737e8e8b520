package appid

import "testing"

// Test data for SMTP: curl 7.88.1 sending a message through Exim 4.96
// (exim4 -bs behind socat) via a loopback recorder; see the file's
// header. The greeting is Exim's own ("220 vm ESMTP Exim 4.96 ...").

func TestDetectSMTP(t *testing.T) {
	in := func(toClient, toServer string, port uint16) *Input {
		return &Input{Transport: TCP, ToClient: []byte(toClient), ToServer: []byte(toServer), ServerPort: port}
	}
	tests := []detectCase{
		{name: "curl and exim", fixture: "smtp/curl-exim", want: Yes, fields: map[string]string{"command": "EHLO"}},
		{name: "exim greeting only", fixture: "smtp/curl-exim", view: serverOnly, want: Yes},
		{name: "greeting cut", fixture: "smtp/curl-exim", view: func(in *Input) { in.ToServer, in.ToClient = nil, in.ToClient[:10] }, want: More},
		{name: "unmarked greeting waits", in: in("220 mail.example ready\r\n", "", 0), want: More},
		{name: "unmarked greeting then EHLO", in: in("220 mail.example ready\r\n", "EHLO client\r\n", 0), want: Yes,
			fields: map[string]string{"command": "EHLO"}},
		{name: "unmarked greeting then USER", in: in("220 mail.example ready\r\n", "USER bob\r\n", 0), want: No},
		{name: "unmarked, QUIT, port 25 breaks the tie", in: in("220 ready\r\n", "QUIT\r\n", 25), want: Yes,
			fields: map[string]string{"command": "QUIT"}},
		{name: "unmarked, QUIT, other port", in: in("220 ready\r\n", "QUIT\r\n", 2121), want: No},
		{name: "vsftpd greeting", fixture: "ftp/curl-vsftpd", view: serverOnly, want: No},
		{name: "client first", in: in("", "EHLO x\r\n", 25), want: No},
		{name: "not 220", in: in("554 go away\r\n", "", 25), want: No},
	}
	runDetectCases(t, detectSMTP, tests)
}

func FuzzDetectSMTP(f *testing.F) {
	fuzzSeeds(f, "smtp", "ftp")
	fuzzDetect(f, detectSMTP, nil)
}
