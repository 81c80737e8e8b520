package sig

// Buffer is what a content match inspects. BufPayload is the packet
// payload, BufStream the reassembled stream of the packet's direction,
// and the rest are sticky buffers filled from app-ID's Info and from
// parsing the HTTP messages in the streams.
type Buffer uint8

const (
	BufPayload Buffer = iota // no sticky buffer: payload and stream
	BufHTTPURI
	BufHTTPURIRaw
	BufHTTPHost
	BufHTTPHostRaw
	BufHTTPMethod
	BufHTTPUserAgent
	BufHTTPHeader
	BufHTTPHeaderRaw
	BufHTTPHeaderNames
	BufHTTPCookie
	BufHTTPContentType
	BufHTTPContentLen
	BufHTTPReferer
	BufHTTPAccept
	BufHTTPAcceptEnc
	BufHTTPAcceptLang
	BufHTTPConnection
	BufHTTPServer
	BufHTTPLocation
	BufHTTPRequestLine
	BufHTTPResponseLine
	BufHTTPStart
	BufHTTPProtocol
	BufHTTPRequestBody
	BufHTTPResponseBody
	BufHTTPStatCode
	BufHTTPStatMsg
	BufFileData
	BufTLSSNI
	BufTLSCertSubject
	BufTLSCertIssuer
	BufTLSCerts
	BufTLSCertSerial
	BufTLSCertFingerprint
	BufJA3Hash
	BufJA3String
	BufJA3SHash
	BufJA4Hash
	BufDNSQuery
	BufSSHProto
	BufSSHSoftware
	BufBase64Data
	NumBuffers
)

// bufferInfo names a buffer. Sticky is the keyword that selects it (and
// any older spellings), Modifier the legacy content modifier, PCRE the
// pcre flag letter that selects it.
type bufferInfo struct {
	Name     string
	Sticky   []string
	Modifier string
	PCRE     byte
	// Doc is a one-line description.
	Doc string
}

var buffers = [NumBuffers]bufferInfo{
	BufPayload:            {Name: "pkt_data", Sticky: []string{"pkt_data"}, Doc: "the packet payload and the reassembled stream"},
	BufHTTPURI:            {Name: "http.uri", Sticky: []string{"http.uri"}, Modifier: "http_uri", PCRE: 'U', Doc: "the normalized (percent-decoded) request URI"},
	BufHTTPURIRaw:         {Name: "http.uri.raw", Sticky: []string{"http.uri.raw"}, Modifier: "http_raw_uri", PCRE: 'I', Doc: "the request URI as sent"},
	BufHTTPHost:           {Name: "http.host", Sticky: []string{"http.host"}, Modifier: "http_host", PCRE: 'W', Doc: "the Host header value, lower-cased"},
	BufHTTPHostRaw:        {Name: "http.host.raw", Sticky: []string{"http.host.raw"}, Modifier: "http_raw_host", PCRE: 'Z', Doc: "the Host header value as sent"},
	BufHTTPMethod:         {Name: "http.method", Sticky: []string{"http.method"}, Modifier: "http_method", PCRE: 'M', Doc: "the request method"},
	BufHTTPUserAgent:      {Name: "http.user_agent", Sticky: []string{"http.user_agent"}, Modifier: "http_user_agent", PCRE: 'V', Doc: "the User-Agent header value"},
	BufHTTPHeader:         {Name: "http.header", Sticky: []string{"http.header"}, Modifier: "http_header", PCRE: 'H', Doc: "the headers of the message, one \"Name: value\\r\\n\" per line"},
	BufHTTPHeaderRaw:      {Name: "http.header.raw", Sticky: []string{"http.header.raw"}, Modifier: "http_raw_header", PCRE: 'D', Doc: "the header block as sent"},
	BufHTTPHeaderNames:    {Name: "http.header_names", Sticky: []string{"http.header_names"}, Doc: "the header names, each followed by \\r\\n, after a leading \\r\\n"},
	BufHTTPCookie:         {Name: "http.cookie", Sticky: []string{"http.cookie"}, Modifier: "http_cookie", PCRE: 'C', Doc: "the Cookie (request) or Set-Cookie (response) value"},
	BufHTTPContentType:    {Name: "http.content_type", Sticky: []string{"http.content_type"}, Modifier: "http_content_type", Doc: "the Content-Type header value"},
	BufHTTPContentLen:     {Name: "http.content_len", Sticky: []string{"http.content_len"}, Modifier: "http_content_len", Doc: "the Content-Length header value"},
	BufHTTPReferer:        {Name: "http.referer", Sticky: []string{"http.referer"}, Modifier: "http_referer", Doc: "the Referer header value"},
	BufHTTPAccept:         {Name: "http.accept", Sticky: []string{"http.accept"}, Modifier: "http_accept", Doc: "the Accept header value"},
	BufHTTPAcceptEnc:      {Name: "http.accept_enc", Sticky: []string{"http.accept_enc"}, Modifier: "http_accept_enc", Doc: "the Accept-Encoding header value"},
	BufHTTPAcceptLang:     {Name: "http.accept_lang", Sticky: []string{"http.accept_lang"}, Modifier: "http_accept_lang", Doc: "the Accept-Language header value"},
	BufHTTPConnection:     {Name: "http.connection", Sticky: []string{"http.connection"}, Modifier: "http_connection", Doc: "the Connection header value"},
	BufHTTPServer:         {Name: "http.server", Sticky: []string{"http.server"}, Doc: "the Server header value of a response"},
	BufHTTPLocation:       {Name: "http.location", Sticky: []string{"http.location"}, Doc: "the Location header value of a response"},
	BufHTTPRequestLine:    {Name: "http.request_line", Sticky: []string{"http.request_line", "http_request_line"}, Doc: "the request line without its CRLF"},
	BufHTTPResponseLine:   {Name: "http.response_line", Sticky: []string{"http.response_line", "http_response_line"}, Doc: "the status line without its CRLF"},
	BufHTTPStart:          {Name: "http.start", Sticky: []string{"http.start"}, Doc: "the start line and headers, up to the blank line"},
	BufHTTPProtocol:       {Name: "http.protocol", Sticky: []string{"http.protocol"}, Doc: "the protocol of the start line (HTTP/1.1)"},
	BufHTTPRequestBody:    {Name: "http.request_body", Sticky: []string{"http.request_body"}, Modifier: "http_client_body", PCRE: 'P', Doc: "the request body, up to the inspection depth"},
	BufHTTPResponseBody:   {Name: "http.response_body", Sticky: []string{"http.response_body"}, Modifier: "http_server_body", PCRE: 'Q', Doc: "the response body, up to the inspection depth"},
	BufHTTPStatCode:       {Name: "http.stat_code", Sticky: []string{"http.stat_code"}, Modifier: "http_stat_code", PCRE: 'S', Doc: "the response status code"},
	BufHTTPStatMsg:        {Name: "http.stat_msg", Sticky: []string{"http.stat_msg"}, Modifier: "http_stat_msg", PCRE: 'Y', Doc: "the response reason phrase"},
	BufFileData:           {Name: "file.data", Sticky: []string{"file.data", "file_data"}, Doc: "the HTTP body of the packet's direction (or the SMTP message data)"},
	BufTLSSNI:             {Name: "tls.sni", Sticky: []string{"tls.sni", "tls_sni"}, Doc: "the TLS server name indication"},
	BufTLSCertSubject:     {Name: "tls.cert_subject", Sticky: []string{"tls.cert_subject", "tls_cert_subject"}, Doc: "the server certificate's subject, \"C=US, O=..., CN=...\" (TLS 1.2 and older; to the client)"},
	BufTLSCertIssuer:      {Name: "tls.cert_issuer", Sticky: []string{"tls.cert_issuer", "tls_cert_issuer"}, Doc: "the server certificate's issuer, as the subject (TLS 1.2 and older; to the client)"},
	BufTLSCerts:           {Name: "tls.certs", Sticky: []string{"tls.certs"}, Doc: "each certificate of the server's chain as DER, one buffer each (TLS 1.2 and older; to the client)"},
	BufTLSCertSerial:      {Name: "tls.cert_serial", Sticky: []string{"tls.cert_serial", "tls_cert_serial"}, Doc: "the server certificate's serial number, \"00:A1:B2\" (TLS 1.2 and older; to the client)"},
	BufTLSCertFingerprint: {Name: "tls.cert_fingerprint", Sticky: []string{"tls.cert_fingerprint", "tls_cert_fingerprint"}, Doc: "the SHA-1 of the server certificate, \"4a:a3:...\" (TLS 1.2 and older; to the client)"},
	BufJA3Hash:            {Name: "ja3.hash", Sticky: []string{"ja3.hash", "ja3_hash"}, Doc: "the JA3 fingerprint of the ClientHello, as 32 lower-case hex digits"},
	BufJA3String:          {Name: "ja3.string", Sticky: []string{"ja3.string", "ja3_string"}, Doc: "the JA3 string the hash is taken of"},
	BufJA3SHash:           {Name: "ja3s.hash", Sticky: []string{"ja3s.hash", "ja3s_hash"}, Doc: "the JA3S fingerprint of the ServerHello"},
	BufJA4Hash:            {Name: "ja4.hash", Sticky: []string{"ja4.hash"}, Doc: "the JA4 fingerprint of the ClientHello"},
	BufDNSQuery:           {Name: "dns.query", Sticky: []string{"dns.query", "dns_query"}, Doc: "the first query name, dotted"},
	BufSSHProto:           {Name: "ssh.proto", Sticky: []string{"ssh.proto", "ssh_proto"}, Doc: "the protocol version of the SSH identification string"},
	BufSSHSoftware:        {Name: "ssh.software", Sticky: []string{"ssh.software", "ssh_software"}, Doc: "the software version of the SSH identification string"},
	BufBase64Data:         {Name: "base64_data", Sticky: []string{"base64_data"}, Doc: "the bytes base64_decode decoded"},
}

func (b Buffer) String() string {
	if b < NumBuffers {
		return buffers[b].Name
	}
	return "unknown"
}

// isHTTPRequest and isHTTPResponse say which side of an HTTP exchange a
// buffer belongs to (file.data and the generic header buffers follow the
// packet's direction).
func (b Buffer) isHTTPRequest() bool {
	switch b {
	case BufHTTPURI, BufHTTPURIRaw, BufHTTPHost, BufHTTPHostRaw, BufHTTPMethod, BufHTTPUserAgent,
		BufHTTPReferer, BufHTTPAccept, BufHTTPAcceptEnc, BufHTTPAcceptLang, BufHTTPRequestLine,
		BufHTTPRequestBody:
		return true
	}
	return false
}

func (b Buffer) isHTTPResponse() bool {
	switch b {
	case BufHTTPServer, BufHTTPLocation, BufHTTPResponseLine, BufHTTPResponseBody, BufHTTPStatCode, BufHTTPStatMsg:
		return true
	}
	return false
}
