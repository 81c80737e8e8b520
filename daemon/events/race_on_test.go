//go:build race

package events

// raceEnabled: the race detector makes sync.Pool drop items at random,
// so allocation counts are checked without it (make test runs the
// allocation tests a second time so).
const raceEnabled = true
