//go:build linux

package main

import (
	"encoding/binary"
	"testing"
)

// ipv4TCP builds an IPv4 TCP packet with a TCP header of hdr bytes and
// data after it.
func ipv4TCP(hdr int, data string) []byte {
	b := make([]byte, 20+hdr+len(data))
	b[0], b[9] = 0x45, 6
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	b[20+12] = byte(hdr/4) << 4
	copy(b[20+hdr:], data)
	return b
}

func ipv6TCP(hdr int, data string) []byte {
	b := make([]byte, 40+hdr+len(data))
	b[0], b[6] = 0x60, 6
	binary.BigEndian.PutUint16(b[4:6], uint16(hdr+len(data)))
	b[40+12] = byte(hdr/4) << 4
	copy(b[40+hdr:], data)
	return b
}

func TestTCPPayload(t *testing.T) {
	udp := ipv4TCP(20, "GET /")
	udp[9] = 17
	tests := []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"IPv4 bare ACK", ipv4TCP(20, ""), false},
		{"IPv4 ACK with timestamps", ipv4TCP(32, ""), false},
		{"IPv4 request", ipv4TCP(32, "GET / HTTP/1.1\r\n"), true},
		{"IPv4 one byte", ipv4TCP(20, "x"), true},
		{"IPv6 bare ACK", ipv6TCP(32, ""), false},
		{"IPv6 request", ipv6TCP(32, "GET /"), true},
		{"UDP", udp, false},
		{"truncated", ipv4TCP(32, "GET /")[:30], false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		if got := tcpPayload(tt.pkt); got != tt.want {
			t.Errorf("%s: tcpPayload = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// FuzzTCPPayload: the listener's only parser never panics.
func FuzzTCPPayload(f *testing.F) {
	f.Add(ipv4TCP(32, "GET /"))
	f.Add(ipv6TCP(20, ""))
	f.Fuzz(func(t *testing.T, b []byte) { tcpPayload(b) })
}
