package appid

import "testing"

// Test data for MySQL: MariaDB 10.11.19 (mariadb-server, run on loopback
// with a fresh mariadb-install-db datadir) greeting the mariadb client
// through a loopback recorder; see the file's header.

func TestDetectMySQL(t *testing.T) {
	tests := []detectCase{
		{name: "mariadb handshake", fixture: "mysql/mariadb-client-server", want: Yes,
			fields: map[string]string{"server_version": "5.5.5-10.11.19-MariaDB-0+deb12u1"}},
		{name: "greeting only", fixture: "mysql/mariadb-client-server", view: serverOnly, want: Yes,
			fields: map[string]string{"server_version": "5.5.5-10.11.19-MariaDB-0+deb12u1"}},
		{name: "greeting cut", fixture: "mysql/mariadb-client-server", view: func(in *Input) { in.ToServer, in.ToClient = nil, in.ToClient[:20] }, want: More},
		{name: "nothing yet", in: &Input{Transport: TCP}, want: More},
		{name: "client spoke first", fixture: "redis/redis-cli-ping", want: No},
		{name: "protocol 9", in: &Input{Transport: TCP, ToClient: []byte("\x20\x00\x00\x00\x095.0\x00xxxxyyyyyyyy\x00zz")}, want: No},
		{name: "ssh banner", fixture: "ssh/openssh-client-server", view: serverOnly, want: No},
	}
	runDetectCases(t, detectMySQL, tests)
}

func FuzzDetectMySQL(f *testing.F) {
	fuzzSeeds(f, "mysql")
	fuzzDetect(f, detectMySQL, func(t *testing.T, in *Input, info *Info) {
		if len(info.ServerVersion) == 0 {
			t.Error("MySQL without a server version")
		}
	})
}
