package sig

import (
	"strings"
	"time"

	"github.com/dlclark/regexp2/v2"
)

// The pcre fallback. Go's regexp (RE2) runs in time linear in the input
// and is used whenever a pattern compiles there. Patterns that need
// backreferences, lookaround, atomic groups, possessive quantifiers or
// \G compile with regexp2 instead: a backtracking engine (Perl and .NET
// syntax), whose time on a crafted input can grow exponentially. Every
// input it sees is attacker-controlled, so each match is bounded twice:
//
//   - the input is cut at maxBacktrackInput bytes (the inspection depth
//     already bounds every buffer; this holds whatever the depth);
//   - each match has a timeout (backtrackTimeout); a match that runs
//     over it counts as "no match" for the signature (the pcre step
//     fails, negated or not, so that an attacker cannot make a negated
//     pcre succeed by slowing it) and is counted in the engine's
//     PCRETimeouts (septa ids stats).
//
// regexp2 checks timeouts against a clock that a goroutine of its own
// advances every 100 ms (regexp2.DefaultClockPeriod), so a runaway
// match stops after backtrackTimeout plus up to about two clock periods.
// septa does not change that period: it is a setting of the whole
// process.
//
// regexp2 runs in its RE2 mode: \d, \w and \s are ASCII as in PCRE
// without UCP, and POSIX classes and (?P<name>) are understood. The
// pattern goes through translatePCRE first, so \Z, \h, \R, \e, \Q..\E,
// octal and \x escapes and the bytes >= 0x80 (Latin-1) are written the
// same way as for Go's regexp. Bytes are matched as Latin-1 runes, one
// rune per byte, so match offsets are byte offsets.

const (
	// backtrackTimeout bounds one match of the backtracking engine.
	backtrackTimeout = 10 * time.Millisecond
	// maxBacktrackInput bounds the bytes the backtracking engine reads
	// of one buffer (the bytes beyond are not searched).
	maxBacktrackInput = 64 << 10
)

// compileBacktrack compiles a PCRE pattern (x flag applied) with the
// backtracking engine; flags are the i, s, m letters (and U for PCRE's
// ungreedy G flag).
func compileBacktrack(pat, flags string, anchored bool) (*regexp2.Regexp, error) {
	if strings.IndexByte(flags, 'U') >= 0 {
		return nil, errf("flag G (ungreedy) is not supported")
	}
	p, err := translatePCRE(pat, true)
	if err != nil {
		return nil, err
	}
	re, err := regexp2.Compile(withFlags(p, flags, anchored), regexp2.RE2)
	if err != nil {
		return nil, errf("%v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	re.MatchTimeout = backtrackTimeout
	return re, nil
}

// backtrackMatch runs re over b (at most maxBacktrackInput bytes of it).
// end is where the first match ends (-1: no match); with needEnd false
// it is 0 for any match. ok is false when the match timed out (counted).
func (st *state) backtrackMatch(re *regexp2.Regexp, b []byte, needEnd bool) (end int, ok bool) {
	if len(b) > maxBacktrackInput {
		b = b[:maxBacktrackInput]
	}
	r := st.runes[:0]
	for _, c := range b {
		r = append(r, rune(c))
	}
	st.runes = r
	var err error
	end = -1
	if needEnd {
		err = re.FindRunesMatches(r, 0, func(v regexp2.MatchView) bool {
			if i, n, ok := v.GroupRange(0); ok {
				end = i + n
			}
			return false
		})
	} else {
		var m bool
		if m, err = re.MatchRunes(r); m {
			end = 0
		}
	}
	if err != nil {
		if st.timeouts != nil {
			st.timeouts.Add(1)
		}
		return -1, false
	}
	return end, true
}
