package sig

import (
	"sync/atomic"
	"unicode/utf8"

	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/ids"
	"github.com/septa-fw/septa/inspect/packet"
)

type bitsFlow = ids.Flow

// state is the matching context of one signature on one packet; it lives
// in the Scratch.
type state struct {
	in       *ids.Input
	pkt      *packet.Packet
	toServer bool
	flow     *ids.Flow
	vars     [maxVars]uint64
	// budget bounds backtracking per signature (Suricata's
	// inspection recursion limit).
	budget      int
	dotprefixed bool
	latinBuf    []byte
	// runes holds a buffer as Latin-1 runes for the backtracking pcre
	// engine; timeouts counts its matches that timed out (the
	// engine's, shared by its scratches).
	runes    []rune
	timeouts *atomic.Uint64
	// certBuf and certList are TLSCertChain's work space.
	certBuf  []byte
	certList [][]byte
}

// maxBacktrack is the budget of content retries per signature.
const maxBacktrack = 3000

// evalSteps runs a buffer's remaining steps from cursor cur.
func (st *state) evalSteps(buf []byte, cur int, rest []step) bool {
	if len(rest) == 0 {
		return true
	}
	return rest[0].eval(st, buf, cur, rest[1:])
}

// latin1 returns b re-encoded so that each byte is one rune (Latin-1 to
// UTF-8), or false when b is ASCII and needs no change. The result lives
// in the scratch until the next call.
func (st *state) latin1(b []byte) ([]byte, bool) {
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return b, false
	}
	out := st.latinBuf[:0]
	for _, c := range b {
		if c < utf8.RuneSelf {
			out = append(out, c)
		} else {
			out = append(out, 0xc0|c>>6, 0x80|c&0x3f)
		}
	}
	st.latinBuf = out
	return out, true
}

// tlsCerts returns the server's certificate chain of the packet's TLS
// flow, for a packet to the client: found in the server's stream and
// parsed once per flow (kept in the flow state), so crypto/x509 runs
// only for flows whose signatures ask for a certificate buffer, once.
// nil until the Certificate message is whole in the stream, and for
// TLS 1.3 (which encrypts it).
func (st *state) tlsCerts() *appid.TLSCerts {
	f := st.flow
	if st.toServer || st.in.App != appid.TLS || f == nil {
		return nil
	}
	if f.TLSDone {
		return f.TLS
	}
	certs, buf, r := appid.TLSCertChain(st.in.Stream[1], st.certBuf, st.certList)
	st.certBuf, st.certList = buf, certs
	switch r {
	case appid.More:
		return nil
	case appid.No:
		f.TLSDone = true
		return nil
	}
	f.TLSDone = true
	c, err := appid.ParseTLSCerts(certs)
	if err != nil {
		return nil // a chain septa cannot parse: no certificate buffers
	}
	f.TLS = c
	return c
}

// certs returns the certificates of the tls.certs multi-buffer.
func (sc *Scratch) certs() [][]byte {
	if c := sc.st.tlsCerts(); c != nil {
		return c.DER
	}
	return nil
}
