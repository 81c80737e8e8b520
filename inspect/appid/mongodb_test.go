package appid

import "testing"

// Test data for MongoDB: go.mongodb.org/mongo-driver/v2 v2.10.0 (Ping)
// sending its handshake (OP_QUERY isMaster on admin.$cmd) to a loopback
// recorder; see the file's header. Debian ships no MongoDB client.

func TestDetectMongoDB(t *testing.T) {
	// An OP_MSG ping as the Go driver sends after the handshake: the
	// same driver's bytes, later in the fixture, are not at its start, so
	// the shape is rebuilt here from the wire protocol manual.
	opMsg := []byte{
		0x27, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xdd, 0x07, 0, 0, // header: len 39, id 1, responseTo 0, 2013
		0, 0, 0, 0, // flagBits
		0,             // section kind 0
		0x12, 0, 0, 0, // document length 18
		0x10, 'p', 'i', 'n', 'g', 0, 1, 0, 0, 0, // int32 "ping": 1
		0x02, 'x', 0, // (truncated, but within the message)
		0, 0, 0, 0, 0,
	}
	tests := []detectCase{
		{name: "go driver handshake", fixture: "mongodb/mongo-go-driver", want: Yes},
		{name: "header only", fixture: "mongodb/mongo-go-driver", view: cut(16), want: More},
		{name: "op_msg", in: &Input{Transport: TCP, ToServer: opMsg}, want: Yes},
		{name: "op_msg bad flags", in: &Input{Transport: TCP, ToServer: withByte(opMsg, 17, 0x40)}, want: No},
		{name: "reply, not request", in: &Input{Transport: TCP, ToServer: withByte(opMsg, 8, 1)}, want: No},
		{name: "postgres", fixture: "postgresql/psql-startup", want: No},
	}
	runDetectCases(t, detectMongoDB, tests)
}

func FuzzDetectMongoDB(f *testing.F) {
	fuzzSeeds(f, "mongodb")
	fuzzDetect(f, detectMongoDB, nil)
}
