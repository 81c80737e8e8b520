package appid

import "testing"

// Test data for MQTT: mosquitto_pub 2.0.11 (mosquitto-clients) CONNECT
// packets for MQTT 3.1.1, 5.0 and 3.1 to a loopback recorder; see the
// files' headers.

func TestDetectMQTT(t *testing.T) {
	tests := []detectCase{
		{name: "3.1.1", fixture: "mqtt/mosquitto-pub-v311", want: Yes, fields: map[string]string{"client_id": "septa-test"}},
		{name: "5.0", fixture: "mqtt/mosquitto-pub-v5", want: Yes, fields: map[string]string{"client_id": "septa-v5"}},
		{name: "3.1", fixture: "mqtt/mosquitto-pub-v31", want: Yes, fields: map[string]string{"client_id": "septa-v31"}},
		{name: "cut in name", fixture: "mqtt/mosquitto-pub-v311", view: cut(5), want: More},
		{name: "cut in client id", fixture: "mqtt/mosquitto-pub-v311", view: cut(16), want: More},
		{name: "level 6", fixture: "mqtt/mosquitto-pub-v311", view: func(in *Input) { in.ToServer = withByte(in.ToServer, 8, 6) }, want: No},
		{name: "reserved flag", fixture: "mqtt/mosquitto-pub-v311", view: func(in *Input) { in.ToServer = withByte(in.ToServer, 9, 0x03) }, want: No},
		{name: "publish first", in: &Input{Transport: TCP, ToServer: []byte{0x30, 5, 0, 1, 't', 'h', 'i'}}, want: No},
	}
	runDetectCases(t, detectMQTT, tests)
}

func FuzzDetectMQTT(f *testing.F) {
	fuzzSeeds(f, "mqtt")
	fuzzDetect(f, detectMQTT, nil)
}
