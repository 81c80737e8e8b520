package appid

import "testing"

// Test data for FTP: curl 7.88.1 listing vsftpd 3.0.3's root, plain and
// with --ssl (AUTH SSL), via a loopback recorder; see the files' headers.

func TestDetectFTP(t *testing.T) {
	in := func(toClient, toServer string, port uint16) *Input {
		return &Input{Transport: TCP, ToClient: []byte(toClient), ToServer: []byte(toServer), ServerPort: port}
	}
	tests := []detectCase{
		{name: "curl and vsftpd", fixture: "ftp/curl-vsftpd", want: Yes, fields: map[string]string{"command": "USER"}},
		{name: "curl --ssl", fixture: "ftp/curl-vsftpd-ssl", want: Yes, fields: map[string]string{"command": "AUTH"}},
		{name: "vsftpd greeting only", fixture: "ftp/curl-vsftpd", view: serverOnly, want: Yes},
		{name: "unmarked greeting waits", in: in("220 Welcome\r\n", "", 21), want: More},
		{name: "unmarked greeting then USER", in: in("220 Welcome\r\n", "USER anonymous\r\n", 0), want: Yes,
			fields: map[string]string{"command": "USER"}},
		{name: "unmarked, NOOP, port 21", in: in("220 Welcome\r\n", "NOOP\r\n", 21), want: Yes,
			fields: map[string]string{"command": "NOOP"}},
		{name: "exim greeting", fixture: "smtp/curl-exim", want: No},
		{name: "client verb cut", in: in("220 Welcome\r\n", "US", 0), want: More},
	}
	runDetectCases(t, detectFTP, tests)
}

func FuzzDetectFTP(f *testing.F) {
	fuzzSeeds(f, "ftp", "smtp")
	fuzzDetect(f, detectFTP, nil)
}
