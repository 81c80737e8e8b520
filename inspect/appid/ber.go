package appid

// berHeader reads a BER identifier and length (X.690 section 8.1) at
// b[0:]: single-byte tags only (all the protocols here use low tag
// numbers), definite lengths of up to four bytes. It returns the tag, the
// content length and the header length; r is More if b ends inside the
// header, No if the header is not one these protocols use.
func berHeader(b []byte) (tag byte, l, hdr int, r Result) {
	if len(b) < 2 {
		return 0, 0, 0, More
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, 0, 0, No // multi-byte tag
	}
	first := b[1]
	if first < 0x80 {
		return tag, int(first), 2, Yes
	}
	n := int(first & 0x7f)
	if n == 0 || n > 4 {
		return 0, 0, 0, No // indefinite (not allowed in DER/LDAP) or huge
	}
	if len(b) < 2+n {
		return 0, 0, 0, More
	}
	for _, c := range b[2 : 2+n] {
		l = l<<8 | int(c)
	}
	if l > 1<<24 {
		return 0, 0, 0, No
	}
	return tag, l, 2 + n, Yes
}

// berInt reads a small INTEGER (tag 0x02, 1 to 4 content bytes) at
// b[0:], returning its value and total length.
func berInt(b []byte) (v, n int, r Result) {
	tag, l, h, r := berHeader(b)
	if r != Yes {
		return 0, 0, r
	}
	if tag != 0x02 || l < 1 || l > 4 {
		return 0, 0, No
	}
	if len(b) < h+l {
		return 0, 0, More
	}
	for _, c := range b[h : h+l] {
		v = v<<8 | int(c)
	}
	if b[h]&0x80 != 0 {
		return 0, 0, No // negative: none of the fields read here may be
	}
	return v, h + l, Yes
}
