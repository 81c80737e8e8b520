package sig

import "bytes"

func indexBytes(b, pat []byte) int { return bytes.Index(b, pat) }
