package benchkit

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ParseIperf reads the received throughput, in Gbit/s, from the JSON
// report of an iperf3 client (iperf3 -c ... -J).
func ParseIperf(out []byte) (float64, error) {
	var r struct {
		Error string `json:"error"`
		End   struct {
			SumReceived *struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, fmt.Errorf("iperf3 report: %w", err)
	}
	if r.Error != "" {
		return 0, fmt.Errorf("iperf3: %s", r.Error)
	}
	if r.End.SumReceived == nil {
		return 0, errors.New("iperf3 report: no end.sum_received")
	}
	if r.End.SumReceived.BitsPerSecond < 0 {
		return 0, fmt.Errorf("iperf3 report: negative throughput %v", r.End.SumReceived.BitsPerSecond)
	}
	return r.End.SumReceived.BitsPerSecond / 1e9, nil
}
