package appid

import (
	"encoding/hex"
	"testing"
)

// Test data for QUIC (see each file's header): Initial packets of
// golang.org/x/net/quic's client (Go 1.26 crypto/tls, SNI quic.example,
// ALPN h3) sent to a loopback UDP recorder by testdata/capture:
//   - x-net-quic.hex: default key shares (X25519MLKEM768 and X25519):
//     the ClientHello is longer than the first datagram, so only its
//     first part is there: SNI, ALPN and version, no fingerprints;
//   - x-net-quic-x25519.hex: X25519 only: the whole hello fits.
//   - chromium.hex: Chromium 156 (headless, --origin-to-force-quic-on):
//     its hello spans two datagrams and is cut into CRYPTO frames at
//     random offsets, so SNI, ALPN and version are found by scanning the
//     fragments.
// Key derivation is checked against RFC 9001 Appendix A.1.

func TestQUICInitialKeys(t *testing.T) {
	dcid, _ := hex.DecodeString("8394c8f03e515708")
	key, iv, hp := quicInitialKeys(quicVersions[0].salt[:], dcid, false)
	for _, c := range []struct{ name, got, want string }{
		{"key", hex.EncodeToString(key[:]), "1f369613dd76d5467730efcbe3b1a22d"},
		{"iv", hex.EncodeToString(iv[:]), "fa044b2f42a3fd3b46fb255c"},
		{"hp", hex.EncodeToString(hp[:]), "9f50449e04a0e810283a1e9933adedd2"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
}

func TestDetectQUIC(t *testing.T) {
	flipTag := func(in *Input) {
		b := append([]byte(nil), in.ToServer...)
		b[100] ^= 1 // inside the first packet's ciphertext: authentication fails
		in.ToServer = b
	}
	tests := []detectCase{
		{name: "x/net/quic, hello cut by the datagram", fixture: "quic/x-net-quic", want: Yes, fields: map[string]string{
			"quic_version": "0x1", "sni": "quic.example", "alpn": "h3", "tls_version": "0x0304"}},
		{name: "x/net/quic X25519, whole hello", fixture: "quic/x-net-quic-x25519", want: Yes, fields: map[string]string{
			"quic_version": "0x1", "sni": "quic.example", "alpn": "h3", "tls_version": "0x0304",
			"ja3": "9cf4cd3620ce76bde5451ac93e8f795f", "ja4": "q13d0313h3_55b375c5d22e_f902b76752af"}},
		{name: "chromium, hello scattered in chaos-protected CRYPTO frames", fixture: "quic/chromium", want: Yes, fields: map[string]string{
			"quic_version": "0x1", "sni": "shop.example", "alpn": "h3", "tls_version": "0x0304"}},
		{name: "tampered: version only", fixture: "quic/x-net-quic-x25519", view: flipTag, want: Yes,
			fields: map[string]string{"quic_version": "0x1"}},
		{name: "short datagram", fixture: "quic/x-net-quic", view: cut(1000), want: No},
		{name: "unknown version", in: &Input{Transport: UDP, ToServer: append([]byte{0xc0, 0x0a, 0x0a, 0x0a, 0x0a}, make([]byte, 1200)...)}, want: No},
		{name: "short header", in: &Input{Transport: UDP, ToServer: make([]byte, 1200)}, want: No},
		{name: "dns", fixture: "dns/dig-udp", want: No},
	}
	runDetectCases(t, detectQUIC, tests)
}

// TestDetectQUICAllocs bounds what decryption allocates per flow.
func TestDetectQUICAllocs(t *testing.T) {
	in := loadFixture(t, "quic/x-net-quic-x25519").in
	info := new(Info)
	if n := testing.AllocsPerRun(20, func() { detectQUIC(&in, info) }); n > 8 {
		t.Errorf("detectQUIC allocates %v times per Initial, want at most 8", n)
	}
}

func FuzzDetectQUIC(f *testing.F) {
	fuzzSeeds(f, "quic")
	fuzzDetect(f, detectQUIC, func(t *testing.T, in *Input, info *Info) {
		if info.QUICVersion == 0 {
			t.Error("QUIC without a version")
		}
		if info.JA4Len == 36 && info.JA4[0] != 'q' {
			t.Errorf("QUIC JA4 %q", info.JA4[:])
		}
	})
}

// TestQUICFingerprintsIndependent checks JA3 and JA4 of the decrypted
// hello against crypto/tls's reading of the same hello (see tls_test.go).
func TestQUICFingerprintsIndependent(t *testing.T) {
	in := loadFixture(t, "quic/x-net-quic-x25519").in
	var info Info
	if detectQUIC(&in, &info) != Yes {
		t.Fatal("not QUIC")
	}
	s := info.Scratch[:]
	hs := s[:4+(int(s[1])<<16|int(s[2])<<8|int(s[3]))]
	record := append([]byte{0x16, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...)
	chi := helloInfoOf(t, record)
	_, ja3 := wantJA3(record, chi)
	if got := hex.EncodeToString(info.JA3[:]); got != ja3 {
		t.Errorf("JA3 = %s, want %s", got, ja3)
	}
	if got, want := string(info.JA4[:info.JA4Len]), wantJA4("q", record, chi); got != want {
		t.Errorf("JA4 = %s, want %s", got, want)
	}
}

// FuzzQUICCrypto fuzzes what follows decryption, which FuzzDetectQUIC
// seldom reaches (it would have to forge the AEAD tag): the frame walk,
// CRYPTO reassembly and the cut-off hello parser.
func FuzzQUICCrypto(f *testing.F) {
	in := loadFixture(f, "quic/x-net-quic-x25519").in
	var info Info
	detectQUIC(&in, &info)
	s := info.Scratch[:]
	n := 4 + (int(s[1])<<16 | int(s[2])<<8 | int(s[3]))
	// A CRYPTO frame carrying the hello, then padding.
	frame := append([]byte{0x06, 0x00, 0x40 | byte(n>>8), byte(n)}, s[:n]...)
	f.Add(append(frame, 0, 0, 0))
	f.Add([]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x06, 0x05, 0x02, 1, 2})
	f.Fuzz(func(t *testing.T, p []byte) {
		var info Info
		var r cryptoRanges
		quicCryptoFrames(p, &info, &r)
		c := info.Scratch[:r.contiguous()]
		var h helloFields
		if len(c) > 4 && parsePartialHello(c[4:], &h) {
			if h.nCiphers > maxTLSList || h.nExts > maxTLSList {
				t.Fatal("lists overflow")
			}
		}
		if len(c) > 4 && parseClientHello(c[4:], &h) {
			h.fill('q', &info)
			if info.JA4Len != 36 {
				t.Fatalf("JA4Len %d", info.JA4Len)
			}
		}
	})
}
