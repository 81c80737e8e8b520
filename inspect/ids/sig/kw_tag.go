package sig

func init() {
	register(&keyword{name: "tag", doc: "accepted and ignored: septa does not log tagged packets", setup: func(p *parser, v string) error {
		return nil
	}})
}
