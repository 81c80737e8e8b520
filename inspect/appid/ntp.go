package appid

// ntpPacketLen is the NTP header without extension fields or MAC (RFC
// 5905 section 7.3); ntpMaxPacket bounds extensions and MAC.
const (
	ntpPacketLen = 48
	ntpMaxPacket = 1024
)

// detectNTP recognises an NTP client request over UDP (RFC 5905 section
// 7.3): 48 bytes plus whole 4-byte extension words, LI/VN/Mode with
// version 1 to 4 and mode 3 (client) or 1 (symmetric active), stratum at
// most 16, poll exponent at most 17. Few bytes are checked, so this
// detector runs after the UDP protocols with stronger shapes; if the
// server answered, its reply must be mode 4 (or 2) of the same version.
func detectNTP(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) == 0 {
		return More
	}
	if len(b) < ntpPacketLen || len(b) > ntpMaxPacket || len(b)%4 != 0 {
		return No
	}
	vn, mode := b[0]>>3&7, b[0]&7
	if vn < 1 || vn > 4 || mode != 3 && mode != 1 || b[1] > 16 || b[2] > 17 {
		return No
	}
	if c := in.ToClient; len(c) > 0 {
		if len(c) < ntpPacketLen || c[0]>>3&7 != vn || c[0]&7 != mode+1 {
			return No
		}
	}
	return Yes
}
