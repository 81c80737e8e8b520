//go:build race

package sig

// raceEnabled: the race detector makes sync.Pool (which Go's regexp uses
// for its matchers) drop items at random, so allocation counts are checked
// without it (make test runs the allocation tests a second time so).
const raceEnabled = true
