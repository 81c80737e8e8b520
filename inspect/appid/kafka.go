package appid

import "encoding/binary"

// Kafka request header bounds (Kafka protocol guide, "Requests"): API
// keys run from 0 (Produce) to the high 60s today, versions to the high
// teens; a request is at most socket.request.max.bytes (100 MiB).
const (
	kafkaMaxAPIKey     = 100
	kafkaMaxAPIVersion = 30
	kafkaMaxRequest    = 100 << 20
	kafkaHeaderLen     = 4 + 2 + 2 + 4 + 2
)

// detectKafka recognises a Kafka request: a 4-byte size, then request
// header v1/v2: api_key, api_version, correlation_id and a nullable
// client_id string (length -1, or that many printable bytes), all
// inside the size. The client id is extracted.
func detectKafka(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) < kafkaHeaderLen {
		// The size is under 100 MiB, so the first byte is small; the
		// api key's high byte is 0.
		if len(b) >= 1 && b[0] > kafkaMaxRequest>>24 || len(b) >= 5 && b[4] != 0 {
			return No
		}
		return More
	}
	size := int(binary.BigEndian.Uint32(b))
	key := binary.BigEndian.Uint16(b[4:])
	version := binary.BigEndian.Uint16(b[6:])
	idLen := int(int16(binary.BigEndian.Uint16(b[12:])))
	if size < kafkaHeaderLen-4 || size > kafkaMaxRequest || key > kafkaMaxAPIKey ||
		version > kafkaMaxAPIVersion || idLen < -1 || idLen > size-(kafkaHeaderLen-4) {
		return No
	}
	if idLen <= 0 {
		// A request without a client id: too little to tell it from
		// other length-prefixed binary protocols.
		return No
	}
	if len(b) < kafkaHeaderLen+idLen {
		if idLen > 255 {
			return No
		}
		return More
	}
	id := b[kafkaHeaderLen : kafkaHeaderLen+idLen]
	for _, c := range id {
		if c < 0x20 || c > 0x7e {
			return No
		}
	}
	info.ClientID = id
	return Yes
}
