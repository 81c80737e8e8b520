package appid

import "bytes"

// Bounds for a first RESP command: its element count and the length of
// its command name.
const (
	redisMaxArgs    = 1 << 20
	redisMaxCmdName = 64
)

// detectRedis recognises a client's first command in RESP (Redis
// serialization protocol spec): an array of bulk strings, "*N\r\n" then
// "$L\r\n" and L bytes of command name and "\r\n". The command name must be
// a word of letters (Redis commands also use '-' and '|' in subcommand
// names). Inline commands are not recognised: "GET x\r\n" is just as much
// memcached, and redis-cli and every client library send RESP.
func detectRedis(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) == 0 {
		return More
	}
	if b[0] != '*' {
		return No
	}
	n, p, r := respLength(b[1:], redisMaxArgs)
	if r != Yes {
		return r
	}
	if n < 1 {
		return No
	}
	b = b[1+p:]
	if len(b) == 0 {
		return More
	}
	if b[0] != '$' {
		return No
	}
	l, p, r := respLength(b[1:], redisMaxCmdName)
	if r != Yes {
		return r
	}
	b = b[1+p:]
	if l < 1 {
		return No
	}
	if len(b) < l+2 {
		if !redisName(b[:min(len(b), l)]) {
			return No
		}
		return More
	}
	name := b[:l]
	if !redisName(name) || b[l] != '\r' || b[l+1] != '\n' {
		return No
	}
	info.Command = name
	return Yes
}

// respLength parses the decimal length and CRLF that follow a RESP type
// byte, returning it and the bytes used.
func respLength(b []byte, max int) (n, used int, r Result) {
	i := bytes.IndexByte(b[:min(len(b), 12)], '\r')
	if i < 0 {
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, 0, No
			}
		}
		if len(b) >= 12 {
			return 0, 0, No
		}
		return 0, 0, More
	}
	if i == 0 || i > 10 {
		return 0, 0, No
	}
	for _, c := range b[:i] {
		if c < '0' || c > '9' {
			return 0, 0, No
		}
		n = n*10 + int(c-'0')
	}
	if n > max {
		return 0, 0, No
	}
	if len(b) < i+2 {
		return 0, 0, More
	}
	if b[i+1] != '\n' {
		return 0, 0, No
	}
	return n, i + 2, Yes
}

func redisName(b []byte) bool {
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '|' || c == '_') {
			return false
		}
	}
	return true
}
