package benchkit

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Summary
	}{
		{"empty", nil, Summary{}},
		{"one", []float64{3}, Summary{Median: 3, Min: 3, Max: 3, Rounds: 1, Values: []float64{3}}},
		{"odd count, unsorted", []float64{5, 1, 3}, Summary{Median: 3, Min: 1, Max: 5, Rounds: 3, Values: []float64{5, 1, 3}}},
		{"even count: mean of the middle two", []float64{4, 1, 2, 10}, Summary{Median: 3, Min: 1, Max: 10, Rounds: 4, Values: []float64{4, 1, 2, 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Summarize(tt.in)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateNaNs(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Summarize(%v) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestSummarizeKeepsInput(t *testing.T) {
	in := []float64{3, 1, 2}
	Summarize(in)
	if diff := cmp.Diff([]float64{3, 1, 2}, in); diff != "" {
		t.Errorf("Summarize changed its input (-want +got):\n%s", diff)
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5} // 1..10
	tests := []struct {
		name string
		p    float64
		want float64
	}{
		{"p50", 50, 5},
		{"p90", 90, 9},
		{"p99", 99, 10},
		{"p100", 100, 10},
		{"p1", 1, 1},
		{"out of range", 0, math.NaN()},
		{"above 100", 101, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Percentile(xs, tt.p)
			if !cmp.Equal(tt.want, got, cmpopts.EquateNaNs()) {
				t.Errorf("Percentile(1..10, %v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
	if got := Percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("Percentile(nil) = %v, want NaN", got)
	}
}
