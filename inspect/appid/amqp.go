package appid

// detectAMQP recognises the protocol header a client sends first:
// "AMQP" 0 0 9 1 (AMQP 0-9-1 section 4.2.2), "AMQP" 1 1 0 9 (0-9),
// or "AMQP" id 1 0 0 with id 0 (AMQP 1.0), 2 (TLS) or 3 (SASL) (AMQP
// 1.0 part 2, section 2.2).
func detectAMQP(in *Input, info *Info) Result {
	b := in.ToServer
	const magic = "AMQP"
	n := min(len(b), len(magic))
	if string(b[:n]) != magic[:n] {
		return No
	}
	if len(b) < 8 {
		return More
	}
	h := b[4:8]
	switch {
	case h[0] == 0 && h[1] == 0 && h[2] == 9 && h[3] == 1,
		h[0] == 1 && h[1] == 1 && h[2] == 0 && h[3] == 9,
		h[0] <= 3 && h[0] != 1 && h[1] == 1 && h[2] == 0 && h[3] == 0:
		return Yes
	}
	return No
}
