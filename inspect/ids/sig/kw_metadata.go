package sig

func init() {
	register(&keyword{name: "metadata", doc: "free-form KEY VALUE pairs, comma separated (kept, not matched)", setup: func(p *parser, v string) error {
		return nil
	}})
}
