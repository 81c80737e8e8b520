package appid

import "testing"

// Test data for Redis: redis-cli 7.0 (redis-tools) PING and SET to a
// loopback recorder; see the files' headers.

func TestDetectRedis(t *testing.T) {
	tests := []detectCase{
		{name: "PING", fixture: "redis/redis-cli-ping", want: Yes, fields: map[string]string{"command": "PING"}},
		{name: "SET", fixture: "redis/redis-cli-set", want: Yes, fields: map[string]string{"command": "SET"}},
		{name: "array header only", fixture: "redis/redis-cli-set", view: cut(4), want: More},
		{name: "command name cut", fixture: "redis/redis-cli-set", view: cut(9), want: More},
		{name: "star", in: &Input{Transport: TCP, ToServer: []byte("*")}, want: More},
		{name: "empty array", in: &Input{Transport: TCP, ToServer: []byte("*0\r\n")}, want: No},
		{name: "not bulk", in: &Input{Transport: TCP, ToServer: []byte("*1\r\n:4\r\n")}, want: No},
		{name: "binary name", in: &Input{Transport: TCP, ToServer: []byte("*1\r\n$2\r\n\x00\x01\r\n")}, want: No},
		{name: "inline is not claimed", in: &Input{Transport: TCP, ToServer: []byte("PING\r\n")}, want: No},
		{name: "huge count", in: &Input{Transport: TCP, ToServer: []byte("*99999999999\r\n")}, want: No},
	}
	runDetectCases(t, detectRedis, tests)
}

func FuzzDetectRedis(f *testing.F) {
	fuzzSeeds(f, "redis")
	fuzzDetect(f, detectRedis, func(t *testing.T, in *Input, info *Info) {
		if len(info.Command) == 0 {
			t.Error("Redis without a command")
		}
	})
}
