package appid

import "testing"

// Test data for memcached: libmemcached-tools 1.1.4 against a loopback
// recorder: memcstat (text "version"), memccat (get), memccp (set) and
// memcstat --binary (binary VERSION); see the files' headers.

func TestDetectMemcached(t *testing.T) {
	in := func(s string) *Input { return &Input{Transport: TCP, ToServer: []byte(s)} }
	tests := []detectCase{
		{name: "memcstat version", fixture: "memcached/memcstat-text", want: Yes, fields: map[string]string{"command": "version"}},
		{name: "memccat get", fixture: "memcached/memccat-get", want: Yes, fields: map[string]string{"command": "get"}},
		{name: "memccp set", fixture: "memcached/memccp-set", want: Yes, fields: map[string]string{"command": "set"}},
		{name: "memcstat binary", fixture: "memcached/memcstat-binary", want: Yes},
		{name: "binary cut", fixture: "memcached/memcstat-binary", view: cut(10), want: More},
		{name: "verb cut", in: in("sta"), want: More},
		{name: "set with noreply", in: in("set k 0 0 5 noreply\r\n"), want: Yes, fields: map[string]string{"command": "set"}},
		{name: "set missing bytes", in: in("set k 0 0\r\n"), want: No},
		{name: "set non-numeric", in: in("set k a 0 5\r\n"), want: No},
		{name: "upper case", in: in("GET k\r\n"), want: No},
		{name: "redis resp", fixture: "redis/redis-cli-ping", want: No},
	}
	runDetectCases(t, detectMemcached, tests)
}

func FuzzDetectMemcached(f *testing.F) {
	fuzzSeeds(f, "memcached")
	fuzzDetect(f, detectMemcached, nil)
}
