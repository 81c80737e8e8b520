package benchkit

import (
	"math"
	"slices"
)

// Summary is the spread of one measurement over rounds.
type Summary struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Rounds int       `json:"rounds"`
	Values []float64 `json:"values"`
}

// Summarize returns the median, minimum and maximum of xs (all zero,
// with Rounds 0, when xs is empty: the summary must encode as JSON) and
// keeps the values in their round order.
func Summarize(xs []float64) Summary {
	s := Summary{Rounds: len(xs), Values: slices.Clone(xs)}
	if len(xs) == 0 {
		return s
	}
	s.Median = Median(xs)
	s.Min, s.Max = slices.Min(xs), slices.Max(xs)
	return s
}

// Median is the middle value of xs (the mean of the two middle values
// for an even count); NaN when xs is empty.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Percentile is the nearest-rank p-th percentile of xs (0 < p <= 100):
// the smallest value with at least p % of the values at or below it.
// NaN when xs is empty.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 || p <= 0 || p > 100 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}
