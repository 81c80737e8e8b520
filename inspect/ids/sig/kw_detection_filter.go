package sig

func init() {
	register(&keyword{name: "detection_filter", doc: "alert only after count matches within seconds: track by_src|by_dst|by_rule|by_both|by_flow, count N, seconds M", setup: func(p *parser, v string) error {
		t, err := parseThreshold(v, false)
		if err != nil {
			return err
		}
		if p.sig.detFilter != nil {
			return errf("given twice")
		}
		p.sig.detFilter = t
		return nil
	}})
}
