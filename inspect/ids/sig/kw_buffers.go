package sig

// The sticky buffers (http.uri; content:...) and the legacy content
// modifiers (content:...; http_uri;) are one table (buffers in
// buffer.go), so they are registered here together rather than one file
// each: every entry has the same parser.

func init() {
	for b := Buffer(0); b < NumBuffers; b++ {
		info := &buffers[b]
		buf := b
		for _, name := range info.Sticky {
			register(&keyword{name: name, value: valueNone, doc: "sticky buffer: " + info.Doc, setup: func(p *parser, _ string) error {
				return setupSticky(p, buf)
			}})
		}
		if info.Modifier != "" {
			register(&keyword{name: info.Modifier, value: valueNone, doc: "content modifier: match the preceding content in " + info.Doc, setup: func(p *parser, _ string) error {
				return setupModifier(p, buf)
			}})
		}
	}
}

func setupSticky(p *parser, b Buffer) error {
	if b == BufPayload {
		p.cur = nil
		return nil
	}
	p.cur = p.listFor(b, false)
	switch b {
	case BufBase64Data, BufHTTPHeaderRaw:
		p.inert(buffers[b].Name)
	}
	return nil
}

// setupModifier moves the preceding content from the payload list into
// buffer b's list.
func setupModifier(p *parser, b Buffer) error {
	c, err := p.modContent()
	if err != nil || p.lastStep != step(c) || p.lastList == nil || p.lastList.buf != BufPayload {
		// Suricata registers several of these names (http_content_type,
		// http_accept, ...) as sticky buffers too; after a content that
		// is already in a sticky buffer, it reads them that way.
		if p.lastList != nil && p.lastList.buf != BufPayload {
			return setupSticky(p, b)
		}
		if err != nil {
			return err
		}
		return errf("must follow a content that is in no sticky buffer")
	}
	l := p.lastList
	l.steps = l.steps[:len(l.steps)-1]
	to := p.listFor(b, false)
	to.steps = append(to.steps, c)
	p.lastList = to
	if b == BufHTTPHeaderRaw {
		p.inert(buffers[b].Name)
	}
	return nil
}
