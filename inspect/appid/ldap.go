package appid

// ldapRequestOps are the protocolOp tags of client requests (RFC 4511
// section 4.2 onwards): [APPLICATION n], constructed except unbind, del
// and abandon.
var ldapRequestOps = [...]byte{
	0x60, // bindRequest
	0x42, // unbindRequest
	0x63, // searchRequest
	0x66, // modifyRequest
	0x68, // addRequest
	0x4a, // delRequest
	0x6c, // modDNRequest
	0x6e, // compareRequest
	0x50, // abandonRequest
	0x77, // extendedRequest (StartTLS, WhoAmI)
}

// detectLDAP recognises an LDAPMessage from the client (RFC 4511 section
// 4.1.1): SEQUENCE { messageID INTEGER (1..2^31-1), protocolOp }, with a
// request op whose length fits the SEQUENCE; a bindRequest must also
// carry version 1 to 3. Over UDP this is CLDAP's search (RFC 1798).
func detectLDAP(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) == 0 {
		return More
	}
	tag, seqLen, h, r := berHeader(b)
	if r != Yes {
		return r
	}
	if tag != 0x30 || seqLen < 5 {
		return No
	}
	body := b[h:]
	id, n, r := berInt(body)
	if r != Yes {
		return r
	}
	if id == 0 {
		return No // messageID 0 is reserved for unsolicited notifications
	}
	body = body[n:]
	op, opLen, oh, r := berHeader(body)
	if r != Yes {
		return r
	}
	known := false
	for _, t := range ldapRequestOps {
		if op == t {
			known = true
		}
	}
	if !known || n+oh+opLen > seqLen {
		return No
	}
	if op == 0x60 {
		v, _, r := berInt(body[oh:])
		if r != Yes {
			return r
		}
		if v < 1 || v > 3 {
			return No
		}
	}
	return Yes
}
