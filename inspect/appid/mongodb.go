package appid

import "encoding/binary"

// MongoDB wire protocol (MongoDB manual, "MongoDB Wire Protocol"): a
// 16-byte little-endian header, messageLength, requestID, responseTo
// (0 in a request) and opCode.
const (
	mongoHeaderLen  = 16
	mongoOpQuery    = 2004
	mongoOpMsg      = 2013
	mongoOpCompress = 2012
	mongoMaxMessage = 48 << 20 // maxMessageSizeBytes
	// OP_MSG flag bits a client may set: checksumPresent, moreToCome,
	// exhaustAllowed. The other bits must be 0.
	mongoMsgFlags = 1<<0 | 1<<1 | 1<<16
)

// detectMongoDB recognises a client's first MongoDB message: OP_MSG with
// known flag bits and a body section holding a BSON document that fits,
// OP_QUERY on a "db.collection" name (drivers open with isMaster on
// "admin.$cmd"), or OP_COMPRESSED.
func detectMongoDB(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) < mongoHeaderLen {
		// The length is little-endian and at most 48 MiB: its high
		// byte is at most 3.
		if len(b) >= 4 && b[3] > mongoMaxMessage>>24 {
			return No
		}
		return More
	}
	l := int(binary.LittleEndian.Uint32(b))
	responseTo := binary.LittleEndian.Uint32(b[8:])
	op := binary.LittleEndian.Uint32(b[12:])
	if l < mongoHeaderLen+5 || l > mongoMaxMessage || responseTo != 0 {
		return No
	}
	switch op {
	case mongoOpMsg:
		if len(b) < mongoHeaderLen+4+1+4 {
			return More
		}
		flags := binary.LittleEndian.Uint32(b[16:])
		if flags&^mongoMsgFlags != 0 || b[20] != 0 { // section kind 0: body
			return No
		}
		doc := int(binary.LittleEndian.Uint32(b[21:]))
		if doc < 5 || 21+doc > l {
			return No
		}
		return Yes
	case mongoOpQuery:
		// flags, then the NUL-terminated full collection name.
		if len(b) < mongoHeaderLen+4+4 {
			return More
		}
		name := b[20:min(len(b), l)]
		dot := false
		for i, c := range name {
			if i > 128 {
				return No
			}
			if c == 0 {
				if !dot || i < 3 {
					return No
				}
				return Yes
			}
			if c < 0x20 || c > 0x7e {
				return No
			}
			if c == '.' {
				dot = true
			}
		}
		if len(b) >= l {
			return No
		}
		return More
	case mongoOpCompress:
		if len(b) < mongoHeaderLen+4+4+1 {
			return More
		}
		orig := binary.LittleEndian.Uint32(b[16:])
		if orig != mongoOpMsg && orig != mongoOpQuery || b[24] > 3 { // compressor id
			return No
		}
		return Yes
	}
	return No
}
