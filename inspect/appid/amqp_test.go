package appid

import "testing"

// Test data for AMQP: amqp-publish (amqp-tools 0.11, rabbitmq-c) sending
// the AMQP 0-9-1 protocol header to a loopback recorder; see the file's
// header. The AMQP 1.0 headers are checked on their specified bytes.

func TestDetectAMQP(t *testing.T) {
	in := func(s string) *Input { return &Input{Transport: TCP, ToServer: []byte(s)} }
	tests := []detectCase{
		{name: "amqp-publish 0-9-1", fixture: "amqp/amqp-publish", want: Yes},
		{name: "1.0", in: in("AMQP\x00\x01\x00\x00"), want: Yes},
		{name: "1.0 sasl", in: in("AMQP\x03\x01\x00\x00"), want: Yes},
		{name: "0-9", in: in("AMQP\x01\x01\x00\x09"), want: Yes},
		{name: "prefix", in: in("AMQ"), want: More},
		{name: "unknown version", in: in("AMQP\x00\x00\x08\x00"), want: No},
		{name: "other", in: in("AMQX\x00\x00\x09\x01"), want: No},
	}
	runDetectCases(t, detectAMQP, tests)
}

func FuzzDetectAMQP(f *testing.F) {
	fuzzSeeds(f, "amqp")
	fuzzDetect(f, detectAMQP, nil)
}
