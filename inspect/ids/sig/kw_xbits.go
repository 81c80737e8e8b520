package sig

func init() {
	register(&keyword{name: "xbits", doc: "like flowbits with a track (ip_src, ip_dst, ip_pair) and expiry; septa keeps them per flow", setup: func(p *parser, v string) error {
		return parseBits(p, v, true)
	}})
}
