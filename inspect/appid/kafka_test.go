package appid

import "testing"

// Test data for Kafka: kcat 1.7.1 (librdkafka) -L against a loopback
// recorder: its first request is ApiVersions (key 18) with client id
// septa-test; see the file's header.

func TestDetectKafka(t *testing.T) {
	tests := []detectCase{
		{name: "kcat apiversions", fixture: "kafka/kcat-metadata", want: Yes, fields: map[string]string{"client_id": "septa-test"}},
		{name: "header cut", fixture: "kafka/kcat-metadata", view: cut(10), want: More},
		{name: "client id cut", fixture: "kafka/kcat-metadata", view: cut(18), want: More},
		{name: "api key too big", fixture: "kafka/kcat-metadata", view: func(in *Input) { in.ToServer = withByte(in.ToServer, 5, 0xff) }, want: No},
		{name: "no client id", in: &Input{Transport: TCP, ToServer: []byte{0, 0, 0, 10, 0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff}}, want: No},
		{name: "postgres startup", fixture: "postgresql/psql-startup", want: No},
	}
	runDetectCases(t, detectKafka, tests)
}

func FuzzDetectKafka(f *testing.F) {
	fuzzSeeds(f, "kafka")
	fuzzDetect(f, detectKafka, func(t *testing.T, in *Input, info *Info) {
		if len(info.ClientID) == 0 {
			t.Error("Kafka without a client id")
		}
	})
}
