package appid

// detectSNMP recognises an SNMP message (RFC 3416 for v1/v2c's
// Message ::= SEQUENCE { version, community, PDU }, RFC 3412 section 6
// for v3's SEQUENCE { msgVersion, msgGlobalData SEQUENCE, ... }): a
// SEQUENCE holding INTEGER version 0 (v1), 1 (v2c) or 3, then for v1/v2c
// an OCTET STRING community and a PDU tag 0xa0..0xa8, for v3 a
// SEQUENCE of msgID and msgMaxSize. The community is extracted.
func detectSNMP(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) == 0 {
		return More
	}
	tag, seqLen, h, r := berHeader(b)
	if r != Yes {
		return r
	}
	if tag != 0x30 || seqLen < 8 {
		return No
	}
	body := b[h:]
	v, n, r := berInt(body)
	if r != Yes {
		return r
	}
	body = body[n:]
	switch v {
	case 0, 1:
		tag, l, ch, r := berHeader(body)
		if r != Yes {
			return r
		}
		if tag != 0x04 || l > 255 {
			return No
		}
		if len(body) < ch+l+2 {
			return More
		}
		community := body[ch : ch+l]
		for _, c := range community {
			if c < 0x20 || c > 0x7e {
				return No
			}
		}
		pdu := body[ch+l]
		if pdu < 0xa0 || pdu > 0xa8 || n+ch+l >= seqLen {
			return No
		}
		info.SNMPCommunity = community
		return Yes
	case 3:
		tag, _, gh, r := berHeader(body)
		if r != Yes {
			return r
		}
		if tag != 0x30 {
			return No
		}
		// msgID and msgMaxSize (484..2^31-1).
		_, m, r := berInt(body[gh:])
		if r != Yes {
			return r
		}
		max, _, r := berInt(body[gh+m:])
		if r != Yes {
			return r
		}
		if max < 484 {
			return No
		}
		return Yes
	}
	return No
}
