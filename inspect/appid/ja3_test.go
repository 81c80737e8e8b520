package appid

import (
	"encoding/binary"
	"testing"
)

// TestAppendJA3String: the string is crypto/tls's view of the hello, in
// one record or split over three.
func TestAppendJA3String(t *testing.T) {
	h := captureClientHello(t, tlsHelloConfig())
	want, _ := wantJA3(h.raw, h.chi)
	var scratch [4096]byte
	for name, b := range map[string][]byte{"one record": h.raw, "three records": fragmentHello(h.raw, 50, 300)} {
		got, ok := AppendJA3String([]byte("x"), b, &scratch)
		if !ok || string(got) != "x"+want {
			t.Errorf("%s: AppendJA3String = %q, %v; want %q", name, got, ok, "x"+want)
		}
	}
	if got, ok := AppendJA3String(nil, h.raw[:100], &scratch); ok {
		t.Errorf("a cut hello gives %q", got)
	}
}

// serverHello builds a ServerHello record with the given version, cipher
// and extension types (each with two bytes of data).
func serverHello(version, cipher uint16, exts ...uint16) []byte {
	body := binary.BigEndian.AppendUint16(nil, version)
	body = append(body, make([]byte, 32)...) // random
	body = append(body, 4, 1, 2, 3, 4)       // session id
	body = binary.BigEndian.AppendUint16(body, cipher)
	body = append(body, 0) // compression
	var el []byte
	for _, e := range exts {
		el = binary.BigEndian.AppendUint16(el, e)
		el = append(el, 0, 2, 0xaa, 0xbb)
	}
	if exts != nil {
		body = binary.BigEndian.AppendUint16(body, uint16(len(el)))
		body = append(body, el...)
	}
	hs := append([]byte{tlsHandshakeServer, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{tlsRecordHandshake, 3, 3, byte(len(hs) >> 8), byte(len(hs))}, hs...)
}

func TestAppendJA3S(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
		ok   bool
	}{
		{"TLS 1.2 with extensions, GREASE left out", serverHello(0x0303, 0xc02f, 0xff01, 0x0000, 0x0a0a, 0x000b, 0x0023), "771,49199,65281-0-11-35", true},
		{"no extensions", serverHello(0x0301, 0x002f), "769,47,", true},
		{"empty extension list", serverHello(0x0303, 0x1301, []uint16{}...), "771,4865,", true},
		{"cut", serverHello(0x0303, 0xc02f, 0xff01)[:40], "", false},
		{"a ClientHello", captureClientHello(t, tlsHelloConfig()).raw, "", false},
	}
	for _, tt := range tests {
		got, ok := AppendJA3S(nil, tt.in)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("%s: AppendJA3S = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	// crypto/tls's ServerHello: its version field says TLS 1.2 (771),
	// whatever supported_versions selects.
	if got, ok := AppendJA3S(nil, captureServerHello(t)); !ok || string(got[:4]) != "771," {
		t.Errorf("crypto/tls ServerHello: %q, %v", got, ok)
	}
}

func FuzzAppendJA3S(f *testing.F) {
	f.Add(serverHello(0x0303, 0xc02f, 0xff01, 0x0000))
	f.Add(serverHello(0x0303, 0x1301))
	f.Fuzz(func(t *testing.T, b []byte) {
		AppendJA3S(nil, b)
		var scratch [4096]byte
		AppendJA3String(nil, b, &scratch)
	})
}
