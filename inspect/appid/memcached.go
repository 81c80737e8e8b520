package appid

import "encoding/binary"

// memcachedCommands are the text protocol's commands (memcached
// protocol.txt), with the argument counts they take: storage commands
// take key, flags, exptime, bytes and an optional noreply (cas one more);
// retrievals take one key or more.
var memcachedCommands = [...]struct {
	name           string
	minArgs        int
	maxArgs        int
	numericFromArg int // arguments from this one on are numbers; 0: none
}{
	{"get", 1, 64, 0}, {"gets", 1, 64, 0}, {"gat", 2, 64, 1}, {"gats", 2, 64, 1},
	{"set", 4, 5, 2}, {"add", 4, 5, 2}, {"replace", 4, 5, 2}, {"append", 4, 5, 2},
	{"prepend", 4, 5, 2}, {"cas", 5, 6, 2},
	{"delete", 1, 2, 0}, {"incr", 2, 3, 2}, {"decr", 2, 3, 2}, {"touch", 2, 3, 2},
	{"stats", 0, 2, 0}, {"version", 0, 0, 0}, {"verbosity", 1, 2, 1}, {"flush_all", 0, 2, 0},
	{"quit", 0, 0, 0}, {"mn", 0, 0, 0}, {"mg", 1, 32, 0}, {"ms", 2, 32, 0}, {"md", 1, 32, 0},
	{"ma", 1, 32, 0}, {"me", 1, 1, 0},
}

// Binary protocol constants (memcached's protocol_binary.h).
const (
	memcachedBinRequest = 0x80
	memcachedBinHeader  = 24
	memcachedMaxBody    = 1 << 20
)

// detectMemcached recognises a client's first memcached command: a text
// line whose verb is a memcached command (lower case, as the protocol
// spells it) with a fitting number of arguments, keys at most 250 bytes
// and numeric arguments numeric; or a binary request header (magic 0x80,
// data type 0, lengths that add up). The verb is extracted.
func detectMemcached(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) == 0 {
		return More
	}
	if b[0] == memcachedBinRequest {
		if len(b) < memcachedBinHeader {
			return More
		}
		keyLen := int(binary.BigEndian.Uint16(b[2:]))
		extLen := int(b[4])
		body := int(binary.BigEndian.Uint32(b[8:]))
		if b[5] != 0 || b[1] > 0x48 || body < keyLen+extLen || body > memcachedMaxBody || keyLen > 250 {
			return No
		}
		return Yes
	}
	line, r := firstLine(b)
	if r == No {
		return No
	}
	verb := firstWord(line)
	var cmd int = -1
	for i, c := range memcachedCommands {
		if string(verb) == c.name {
			cmd = i
		} else if r == More && len(verb) == len(line) && len(verb) < len(c.name) &&
			string(verb) == c.name[:len(verb)] {
			return More
		}
	}
	if cmd < 0 {
		return No
	}
	if r == More {
		return More
	}
	c := memcachedCommands[cmd]
	args := line[len(verb):]
	n := 0
	for len(args) > 0 {
		if args[0] != ' ' {
			return No
		}
		args = args[1:]
		w := firstWord(args)
		if len(w) == 0 || len(w) > 250 {
			return No
		}
		n++
		if c.numericFromArg > 0 && n >= c.numericFromArg && !(n == c.maxArgs && string(w) == "noreply") {
			for _, d := range w {
				if (d < '0' || d > '9') && d != '-' {
					return No
				}
			}
		}
		args = args[len(w):]
	}
	if n < c.minArgs || n > c.maxArgs {
		return No
	}
	info.Command = verb
	return Yes
}
