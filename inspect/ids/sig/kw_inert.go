package sig

// Keywords the parser accepts so that rulesets load, but that the engine
// cannot evaluate: a signature using one loads, never matches, and lists
// the keyword in Signature.Inert (septa ids stats reports them). Each
// needs data septa does not have yet (decoded base64, ASN.1, app-layer
// parser events, flow integers).
func init() {
	for _, k := range []struct{ name, doc string }{
		{"base64_decode", "decode base64 from the buffer (not evaluated)"},
		{"asn1", "ASN.1 checks (not evaluated)"},
		{"app-layer-event", "app-layer parser events (not evaluated)"},
		{"ftpbounce", "FTP PORT bounce check (not evaluated)"},
		{"flowint", "flow integer variables (not evaluated)"},
		{"tls.cert_expired", "certificate expiry (not evaluated)"},
		{"tls.cert_chain_len", "certificate chain length (not evaluated)"},
		{"ssl_state", "TLS handshake state (not evaluated)"},
		{"ssl_version", "TLS version (not evaluated)"},
		{"tls.store", "store certificates (not evaluated)"},
		{"filestore", "store files (not evaluated)"},
		{"filemagic", "file magic (not evaluated)"},
		{"filename", "file name (not evaluated)"},
		{"fileext", "file extension (not evaluated)"},
		{"filemd5", "file MD5 list (not evaluated)"},
		{"filesha256", "file SHA-256 list (not evaluated)"},
		{"dce_iface", "DCE/RPC interface (not evaluated)"},
		{"dce_opnum", "DCE/RPC operation (not evaluated)"},
		{"dce_stub_data", "DCE/RPC stub data (not evaluated)"},
		{"smb.named_pipe", "SMB named pipe (not evaluated)"},
		{"smb.share", "SMB share (not evaluated)"},
		{"dns.opcode", "DNS opcode (not evaluated)"},
		{"ttl", "IP TTL (not evaluated)"},
		{"id", "IP id (not evaluated)"},
		{"fragbits", "IP fragment bits (not evaluated)"},
		{"fragoffset", "IP fragment offset (not evaluated)"},
		{"ipopts", "IP options (not evaluated)"},
		{"seq", "TCP sequence number (not evaluated)"},
		{"ack", "TCP acknowledgment number (not evaluated)"},
		{"window", "TCP window (not evaluated)"},
		{"icmp_id", "ICMP id (not evaluated)"},
		{"icmp_seq", "ICMP sequence (not evaluated)"},
		{"sameip", "source equals destination (not evaluated)"},
	} {
		name := k.name
		register(&keyword{name: name, value: valueOptional, doc: k.doc, setup: func(p *parser, _ string) error {
			p.inert(name)
			return nil
		}})
	}
}
