package rules

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// table walks one decoded TOML table (map[string]any) and reads typed
// values out of it, recording an error with its position for every key of
// the wrong type and, in done, every key nobody asked for. Reading a
// policy this way, rather than decoding into structs, reports every
// problem of a file instead of stopping at the first.
type table struct {
	m    map[string]any
	path []string
	ps   *positions
	errs *errorsf
	what string // "rule", "zone", ... for messages
	name string
	seen map[string]bool
}

func (t *table) child(key string, m map[string]any, what, name string) *table {
	return &table{m: m, path: t.sub(key), ps: t.ps, errs: t.errs, what: what, name: name, seen: map[string]bool{}}
}

func (t *table) sub(parts ...string) []string {
	return append(append([]string(nil), t.path...), parts...)
}

// keyPos is where key is written in this table.
func (t *table) keyPos(key string) Pos { return t.ps.key(t.sub(key)...) }

// valPos is where the value of key (or its element idx, if idx >= 0) is.
func (t *table) valPos(key string, idx int) Pos {
	if idx >= 0 {
		return t.ps.val(t.sub(key, strconv.Itoa(idx))...)
	}
	return t.ps.val(t.sub(key)...)
}

// pos is where the table itself starts.
func (t *table) pos() Pos { return t.ps.key(t.path...) }

func (t *table) errorf(pos Pos, field, format string, args ...any) {
	t.errs.addf(pos, t.what, t.name, field, format, args...)
}

func (t *table) has(key string) bool {
	_, ok := t.m[key]
	return ok
}

func (t *table) get(key string) (any, bool) {
	t.seen[key] = true
	v, ok := t.m[key]
	return v, ok
}

// item is a string value with where it is written.
type item struct {
	s   string
	pos Pos
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date-time"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}

// str reads a string value. ok is false when the key is absent or wrong.
func (t *table) str(key string) (item, bool) {
	v, ok := t.get(key)
	if !ok {
		return item{}, false
	}
	s, ok := v.(string)
	if !ok {
		t.errorf(t.valPos(key, -1), key, "want a string, not %s", tomlType(v))
		return item{}, false
	}
	return item{s: s, pos: t.valPos(key, -1)}, true
}

func (t *table) boolean(key string) (bool, Pos, bool) {
	v, ok := t.get(key)
	if !ok {
		return false, Pos{}, false
	}
	b, ok := v.(bool)
	if !ok {
		t.errorf(t.valPos(key, -1), key, "want true or false, not %s", tomlType(v))
		return false, Pos{}, false
	}
	return b, t.valPos(key, -1), true
}

// strs reads an array of strings; a single string is taken as an array of
// one, since `from = "zone:dev"` is what people write.
func (t *table) strs(key string) ([]item, bool) {
	v, ok := t.get(key)
	if !ok {
		return nil, false
	}
	switch v := v.(type) {
	case string:
		return []item{{s: v, pos: t.valPos(key, -1)}}, true
	case []any:
		out := make([]item, 0, len(v))
		good := true
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				t.errorf(t.valPos(key, i), key, "want a string, not %s", tomlType(e))
				good = false
				continue
			}
			out = append(out, item{s: s, pos: t.valPos(key, i)})
		}
		return out, good
	}
	t.errorf(t.valPos(key, -1), key, "want an array of strings, not %s", tomlType(v))
	return nil, false
}

// portItems reads an array whose elements are strings or integers (ports),
// returned as text.
func (t *table) portItems(key string) ([]item, bool) {
	v, ok := t.get(key)
	if !ok {
		return nil, false
	}
	one := func(e any, pos Pos) (item, bool) {
		switch e := e.(type) {
		case string:
			return item{s: e, pos: pos}, true
		case int64:
			return item{s: strconv.FormatInt(e, 10), pos: pos}, true
		}
		t.errorf(pos, key, "want a string such as \"tcp/443\", not %s", tomlType(e))
		return item{}, false
	}
	if arr, isArr := v.([]any); isArr {
		out := make([]item, 0, len(arr))
		good := true
		for i, e := range arr {
			it, ok := one(e, t.valPos(key, i))
			good = good && ok
			if ok {
				out = append(out, it)
			}
		}
		return out, good
	}
	it, ok := one(v, t.valPos(key, -1))
	if !ok {
		return nil, false
	}
	return []item{it}, true
}

// tables reads a table of tables ([zones.dev], [zones.prod]) in name order.
func (t *table) tables(key, what string) []*table {
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.errorf(t.valPos(key, -1), key, "want a table such as [%s.NAME], not %s", key, tomlType(v))
		return nil
	}
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []*table
	for _, name := range names {
		sub, ok := m[name].(map[string]any)
		if !ok {
			t.errs.addf(t.ps.key(t.sub(key, name)...), what, name, "", "want a table [%s.%s], not %s", key, name, tomlType(m[name]))
			continue
		}
		c := t.child(key, sub, what, name)
		c.path = append(c.path, name)
		out = append(out, c)
	}
	return out
}

// array reads an array of tables ([[rules]]) in order.
func (t *table) array(key, what string) []*table {
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	var elems []map[string]any
	switch v := v.(type) {
	case []map[string]any:
		elems = v
	case []any:
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				t.errorf(t.valPos(key, i), key, "want a table, not %s", tomlType(e))
				continue
			}
			elems = append(elems, m)
		}
	default:
		t.errorf(t.valPos(key, -1), key, "want an array of tables such as [[%s]], not %s", key, tomlType(v))
		return nil
	}
	out := make([]*table, len(elems))
	for i, m := range elems {
		c := t.child(key, m, what, "")
		c.path = append(c.path, strconv.Itoa(i))
		out[i] = c
	}
	return out
}

// table reads a plain sub-table ([settings]).
func (t *table) table(key, what string) *table {
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.errorf(t.valPos(key, -1), key, "want a table [%s], not %s", key, tomlType(v))
		return nil
	}
	return t.child(key, m, what, "")
}

// done reports every key of the table that was not read: a typo in a
// firewall policy is an outage, so unknown keys are errors.
func (t *table) done() {
	var unknown []string
	for k := range t.m {
		if !t.seen[k] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		if hint := closest(k, t.seen); hint != "" {
			t.errorf(t.keyPos(k), k, "unknown key (did you mean %q?)", hint)
			continue
		}
		t.errorf(t.keyPos(k), k, "unknown key")
	}
}

// closest returns the known key nearest to k by edit distance, if it is
// near enough to be a typo.
func closest(k string, known map[string]bool) string {
	best, bestD := "", 3
	for cand := range known {
		if d := editDistance(k, cand); d < bestD || d == bestD && best != "" && cand < best {
			best, bestD = cand, d
		}
	}
	if bestD > len(k)/2 {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// known marks keys as read without reading them.
func (t *table) known(keys ...string) {
	for _, k := range keys {
		t.seen[k] = true
	}
}
