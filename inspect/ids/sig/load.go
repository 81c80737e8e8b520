package sig

import (
	"bufio"
	"errors"
	"github.com/septa-fw/septa/inspect/ids"
	"io"
	"os"
	"sort"
	"strings"
)

// LoadResult is what loading signature files produced.
type LoadResult struct {
	Sigs []*Signature
	// Errors are the signatures that did not parse, in file order.
	Errors []*Error
	// Disabled counts signatures skipped because their sid is disabled.
	Disabled int
}

// FailuresByReason counts Errors by keyword ("header" for the header),
// most frequent first.
func (r *LoadResult) FailuresByReason() []ReasonCount {
	m := map[string]int{}
	for _, e := range r.Errors {
		m[e.Reason()]++
	}
	out := make([]ReasonCount, 0, len(m))
	for k, n := range m {
		out = append(out, ReasonCount{Reason: k, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// ReasonCount is a failure reason with its count.
type ReasonCount struct {
	Reason string
	Count  int
}

// LoadOptions tune loading.
type LoadOptions struct {
	Vars     *Vars
	Disabled map[uint32]bool
	// Actions override the action of signatures by sid.
	Actions map[uint32]ids.Action
}

// LoadFile parses the signatures in file, one per line (a line ending in
// \ continues on the next), skipping comments and blank lines. A bad
// signature is recorded in the result and the rest load; the error is
// for the file itself.
func LoadFile(name string, opt LoadOptions, res *LoadResult) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return Load(name, f, opt, res)
}

// Load is LoadFile over a reader; name is used in errors.
func Load(name string, r io.Reader, opt LoadOptions, res *LoadResult) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	var cont strings.Builder
	start := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if cont.Len() > 0 {
			cont.WriteString(text)
			text = cont.String()
		} else {
			start = line
		}
		if strings.HasSuffix(text, "\\") {
			cont.Reset()
			cont.WriteString(strings.TrimSuffix(text, "\\"))
			continue
		}
		cont.Reset()
		t := strings.TrimSpace(text)
		if t == "" || t[0] == '#' {
			continue
		}
		s, err := Parse(t, opt.Vars)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				e = &Error{Err: err}
			}
			e.File, e.Line = name, start
			res.Errors = append(res.Errors, e)
			continue
		}
		if opt.Disabled[s.SID] {
			res.Disabled++
			continue
		}
		if a, ok := opt.Actions[s.SID]; ok {
			s.Action = a
		}
		s.File, s.Line = name, start
		res.Sigs = append(res.Sigs, s)
	}
	return sc.Err()
}
