package sig

import (
	"strconv"
	"strings"
)

// numOrVar parses a modifier's number, or the name of a byte_extract
// variable (returned as its index).
func (p *parser) numOrVar(v string, min, max int) (int, int8, error) {
	v = strings.TrimSpace(v)
	n, err := strconv.Atoi(v)
	if err == nil {
		if n < min || n > max {
			return 0, -1, errf("%d out of range [%d, %d]", n, min, max)
		}
		return n, -1, nil
	}
	for i, name := range p.sig.varNames {
		if name == v {
			return 0, int8(i), nil
		}
	}
	return 0, -1, errf("bad number %q", v)
}

// maxOffset bounds offsets and depths (Suricata's limit is 65535 for
// most; buffers here are never longer).
const maxOffset = 1 << 16
