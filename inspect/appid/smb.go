package appid

import (
	"bytes"
	"encoding/binary"
)

// SMB framing: over TCP 445 each message follows a 4-byte header, a zero
// byte and a 24-bit length (MS-SMB2 section 2.1, the NetBIOS session
// message of RFC 1002 section 4.3.6 with a wider length).
const (
	// smb1MaxNegotiate bounds an SMB1 NEGOTIATE: a dozen dialect names.
	smb1MaxNegotiate = 4096
	smb2HeaderLen    = 64
	smb1Negotiate    = 0x72
)

// detectSMB recognises the first SMB message from the client: an SMB2/3
// header (protocol id 0xFE 'S' 'M' 'B', structure size 64) or an SMB1
// NEGOTIATE (0xFF 'S' 'M' 'B', command 0x72) whose dialects offer SMB2
// ("SMB 2.002" or "SMB 2.???"), as clients send to find an SMB2 server.
func detectSMB(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) == 0 {
		return More
	}
	if b[0] != 0 {
		return No
	}
	if len(b) < 8 {
		return smbMagicPrefix(b[min(len(b), 4):])
	}
	l := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	m := b[4:]
	switch {
	case bytes.HasPrefix(m, []byte("\xfeSMB")):
		if l < smb2HeaderLen {
			return No
		}
		if len(m) < 6 {
			return More
		}
		if binary.LittleEndian.Uint16(m[4:]) != smb2HeaderLen {
			return No
		}
		return Yes
	case bytes.HasPrefix(m, []byte("\xffSMB")):
		// SMB1 header is 32 bytes, then WordCount, ByteCount and the
		// dialect strings (MS-CIFS section 2.2.4.52.1), each 0x02 and a
		// NUL-terminated name.
		if l < 35 || l > smb1MaxNegotiate {
			return No
		}
		if len(m) < l {
			if len(m) >= 5 && m[4] != smb1Negotiate {
				return No
			}
			return More
		}
		m = m[:l]
		if m[4] != smb1Negotiate || m[32] != 0 {
			return No
		}
		count := int(binary.LittleEndian.Uint16(m[33:]))
		d := m[35:]
		if count != len(d) {
			return No
		}
		smb2 := false
		for range 64 {
			if len(d) == 0 {
				break
			}
			if d[0] != 0x02 {
				return No
			}
			end := bytes.IndexByte(d, 0)
			if end < 0 {
				return No
			}
			if bytes.HasPrefix(d[1:end], []byte("SMB 2.")) {
				smb2 = true
			}
			d = d[end+1:]
		}
		if !smb2 {
			return No
		}
		return Yes
	}
	return No
}

// smbMagicPrefix returns More if b could start either protocol id.
func smbMagicPrefix(b []byte) Result {
	for _, magic := range []string{"\xfeSMB", "\xffSMB"} {
		n := min(len(b), len(magic))
		if string(b[:n]) == magic[:n] {
			return More
		}
	}
	return No
}
