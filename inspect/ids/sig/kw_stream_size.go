package sig

import "strings"

func init() {
	register(&keyword{name: "stream_size", doc: "bytes seen in a direction: server|client|both|either,OP,N (OP one of < > = != <= >=)", setup: setupStreamSize})
}

type streamSize struct {
	side byte // 's' server, 'c' client, 'b' both, 'e' either
	op   string
	n    uint64
}

func setupStreamSize(p *parser, v string) error {
	parts := splitComma(v)
	if len(parts) != 3 {
		return errf("want SIDE,OP,N, have %q", v)
	}
	ss := &streamSize{op: parts[1]}
	switch parts[0] {
	case "server":
		ss.side = 's'
	case "client":
		ss.side = 'c'
	case "both":
		ss.side = 'b'
	case "either":
		ss.side = 'e'
	default:
		return errf("unknown side %q", parts[0])
	}
	switch ss.op {
	case "<", ">", "=", "!=", "<=", ">=":
	default:
		return errf("unknown operator %q", ss.op)
	}
	n, err := parseUint(parts[2], 1<<32-1)
	if err != nil {
		return err
	}
	ss.n = n
	p.sig.checks = append(p.sig.checks, ss)
	return nil
}

func cmpOp(op string, x, n uint64) bool {
	switch op {
	case "<":
		return x < n
	case ">":
		return x > n
	case "=":
		return x == n
	case "!=":
		return x != n
	case "<=":
		return x <= n
	case ">=":
		return x >= n
	}
	return false
}

// check compares the reassembled bytes of each side (bounded by the
// inspection depth, so large streams compare as the depth).
func (ss *streamSize) check(st *state) bool {
	srv := uint64(len(st.in.Stream[1]))
	cli := uint64(len(st.in.Stream[0]))
	switch ss.side {
	case 's':
		return cmpOp(ss.op, srv, ss.n)
	case 'c':
		return cmpOp(ss.op, cli, ss.n)
	case 'b':
		return cmpOp(ss.op, srv, ss.n) && cmpOp(ss.op, cli, ss.n)
	}
	return cmpOp(ss.op, srv, ss.n) || cmpOp(ss.op, cli, ss.n)
}

var _ = strings.TrimSpace
