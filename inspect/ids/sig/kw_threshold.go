package sig

import (
	"strings"
)

func init() {
	register(&keyword{name: "threshold", doc: "limit alerts: type limit|threshold|both, track by_src|by_dst|by_rule|by_both|by_flow, count N, seconds M", setup: func(p *parser, v string) error {
		t, err := parseThreshold(v, true)
		if err != nil {
			return err
		}
		if p.sig.threshold != nil {
			return errf("given twice")
		}
		p.sig.threshold = t
		return nil
	}})
}

type thresholdType uint8

const (
	thLimit     thresholdType = iota + 1 // alert on the first count matches per period
	thThreshold                          // alert on every count-th match per period
	thBoth                               // alert once per period, after count matches
	thDetection                          // detection_filter: alert on every match after count per period
)

type track uint8

const (
	trackSrc track = iota + 1
	trackDst
	trackRule
	trackBoth
	trackFlow
)

// thresholdOpt is threshold or detection_filter. Their state lives in
// the worker's Scratch (a bounded table: see thresholds.go).
type thresholdOpt struct {
	typ     thresholdType
	track   track
	count   uint32
	seconds uint32
}

func parseThreshold(v string, withType bool) (*thresholdOpt, error) {
	t := &thresholdOpt{}
	if !withType {
		t.typ = thDetection
	}
	haveCount, haveSeconds := false, false
	for _, part := range splitComma(v) {
		f := strings.Fields(part)
		if len(f) != 2 {
			return nil, errf("want KEY VALUE, have %q", part)
		}
		switch f[0] {
		case "type":
			if !withType {
				return nil, errf("no type in detection_filter")
			}
			switch f[1] {
			case "limit":
				t.typ = thLimit
			case "threshold":
				t.typ = thThreshold
			case "both":
				t.typ = thBoth
			default:
				return nil, errf("unknown type %q", f[1])
			}
		case "track":
			switch f[1] {
			case "by_src":
				t.track = trackSrc
			case "by_dst":
				t.track = trackDst
			case "by_rule":
				t.track = trackRule
			case "by_both":
				t.track = trackBoth
			case "by_flow":
				t.track = trackFlow
			default:
				return nil, errf("unknown track %q", f[1])
			}
		case "count":
			n, err := parseUint(f[1], 1<<32-1)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				return nil, errf("count 0")
			}
			t.count, haveCount = uint32(n), true
		case "seconds":
			n, err := parseUint(f[1], 1<<32-1)
			if err != nil {
				return nil, err
			}
			t.seconds, haveSeconds = uint32(n), true
		default:
			return nil, errf("unknown key %q", f[0])
		}
	}
	switch {
	case t.typ == 0:
		return nil, errf("missing type")
	case t.track == 0:
		return nil, errf("missing track")
	case !haveCount:
		return nil, errf("missing count")
	case !haveSeconds:
		return nil, errf("missing seconds")
	}
	return t, nil
}
