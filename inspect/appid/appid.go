// Package appid identifies the application protocol of a flow from its
// first payload bytes in each direction, whatever the port says, and
// extracts what the protocol reveals (HTTP host, TLS server name and
// fingerprints, SSH software, DNS query names, ...).
//
// Detection never guesses from the port: traffic that no detector
// recognises is Unknown. Detectors are plain functions over the first
// bytes of each direction, so they hold no state of their own; they
// allocate nothing (decrypting a QUIC Initial excepted, once per flow:
// see detectQUIC), and what they extract aliases the input or
// Info.Scratch. Each protocol has its own file with its detector; the
// order in which they run is the table in detectors.go.
//
// It imports the standard library and inspect/packet only.
package appid

// App is an application protocol. The numbers are stable (they reach EVE
// records and metrics); the names are those of ir.Apps, which follow
// Suricata's app-layer names where it has one.
type App uint8

const (
	Unknown App = iota
	HTTP
	HTTP2
	GRPC
	TLS
	SSH
	DNS
	SMTP
	IMAP
	POP3
	FTP
	MySQL
	PostgreSQL
	Redis
	MongoDB
	LDAP
	Kerberos
	SMB
	RDP
	NTP
	SNMP
	SIP
	MQTT
	AMQP
	Memcached
	Kafka
	QUIC
	numApps
)

var appNames = [numApps]string{
	Unknown: "unknown", HTTP: "http", HTTP2: "http2", GRPC: "grpc", TLS: "tls", SSH: "ssh",
	DNS: "dns", SMTP: "smtp", IMAP: "imap", POP3: "pop3", FTP: "ftp", MySQL: "mysql",
	PostgreSQL: "postgresql", Redis: "redis", MongoDB: "mongodb", LDAP: "ldap",
	Kerberos: "kerberos", SMB: "smb", RDP: "rdp", NTP: "ntp", SNMP: "snmp", SIP: "sip",
	MQTT: "mqtt", AMQP: "amqp", Memcached: "memcached", Kafka: "kafka", QUIC: "quic",
}

func (a App) String() string {
	if a < numApps {
		return appNames[a]
	}
	return "unknown"
}

// ParseApp returns the App with the given name, or Unknown and false.
func ParseApp(name string) (App, bool) {
	for a := App(1); a < numApps; a++ {
		if appNames[a] == name {
			return a, true
		}
	}
	return Unknown, false
}

// Transport is the transport protocol of a flow.
type Transport uint8

const (
	TransportUnknown Transport = iota
	TCP
	UDP
)

// Input is what detectors look at: the first bytes each side of a flow
// sent, in order (for TCP, the reassembled stream; for UDP, the first
// datagram of each direction), bounded by the inspection depth.
type Input struct {
	Transport Transport
	// ToServer is what the client (the side that opened the flow) sent.
	ToServer []byte
	// ToClient is what the server sent.
	ToClient []byte
	// ServerPort is the server's port. Detectors may use it only to tell
	// apart two protocols that both match the bytes, never to claim
	// traffic that the bytes do not show.
	ServerPort uint16
}

// Result is a detector's answer.
type Result uint8

const (
	// No: the bytes are not this protocol.
	No Result = iota
	// More: the bytes so far could be this protocol; more are needed.
	More
	// Yes: the protocol is identified; Info holds what it revealed.
	Yes
)

func (r Result) String() string {
	switch r {
	case No:
		return "no"
	case More:
		return "more"
	case Yes:
		return "yes"
	}
	return "unknown"
}

// Info is what identification found. Byte slices alias the Input: copy
// them to keep them beyond the Input's life.
type Info struct {
	App App
	// HTTP/1.x request.
	HTTPMethod, HTTPHost, HTTPPath, HTTPUserAgent []byte
	// TLS ClientHello (and QUIC Initial).
	TLSVersion uint16 // highest version offered (supported_versions) or the hello's
	SNI        []byte
	ALPN       []byte // the first protocol offered
	JA3        [16]byte
	JA4        [36]byte // "t13d1516h2_8daaf6152771_e5627efa2ab1"
	JA4Len     uint8
	// SSH identification string: the client's, or the server's
	// (SSHFromServer) when the client has sent nothing yet.
	SSHProto, SSHSoftware []byte
	SSHFromServer         bool
	// DNS: the first query name, as dotted text in Scratch.
	DNSQuery []byte
	// QUIC version.
	QUICVersion uint32
	// User is the user name a client announced in its first message
	// (the PostgreSQL StartupMessage "user").
	User []byte
	// Command is the first command a client sent, as it spelled it
	// (Redis, memcached, SMTP, FTP, POP3 and IMAP verbs, the SIP method).
	Command []byte
	// ClientID is what a client calls itself (MQTT client identifier,
	// Kafka client.id).
	ClientID []byte
	// ServerVersion is the version a server announced (MySQL handshake
	// server_version).
	ServerVersion []byte
	// SNMPCommunity is the community string of SNMPv1 and v2c.
	SNMPCommunity []byte
	// RDPCookie is the "mstshash" user of an RDP connection request.
	RDPCookie []byte
	// Scratch space that detectors may fill so that nothing allocates:
	// DNS names are decoded here, HTTP/2 Huffman-coded header values, a
	// TLS ClientHello split over several records and a QUIC Initial's
	// CRYPTO stream are reassembled here. 4 KiB holds any ClientHello
	// seen in practice, post-quantum key shares included. Identify does
	// not clear it (only the fields above), so callers need not either.
	Scratch [4096]byte
}

// reset clears every field but Scratch (TestInfoReset keeps the list
// complete).
func (info *Info) reset() {
	info.App = Unknown
	info.HTTPMethod, info.HTTPHost, info.HTTPPath, info.HTTPUserAgent = nil, nil, nil, nil
	info.TLSVersion, info.SNI, info.ALPN = 0, nil, nil
	info.JA3, info.JA4, info.JA4Len = [16]byte{}, [36]byte{}, 0
	info.SSHProto, info.SSHSoftware, info.SSHFromServer = nil, nil, false
	info.DNSQuery, info.QUICVersion = nil, 0
	info.User, info.Command, info.ClientID = nil, nil, nil
	info.ServerVersion, info.SNMPCommunity, info.RDPCookie = nil, nil, nil
}

// Detector identifies one application protocol.
type Detector struct {
	App App
	// Transport limits the detector to TCP or UDP; TransportUnknown for
	// protocols that run over both (DNS).
	Transport Transport
	// Detect looks at the input and, on Yes, fills info (App is set by
	// Identify). It must leave info's fields alone when it answers No or
	// More, so that they cannot pass for a later detector's findings
	// (Scratch is free to use either way).
	Detect func(in *Input, info *Info) Result
}

// Identify runs the detectors over the input. It returns Yes with
// info.App set when one recognises the bytes, More while any detector
// still needs more bytes, and No (info.App Unknown) when none can match.
func Identify(in *Input, info *Info) Result {
	info.reset()
	more := false
	for i := range detectors {
		d := &detectors[i]
		if d.Transport != TransportUnknown && d.Transport != in.Transport {
			continue
		}
		switch d.Detect(in, info) {
		case Yes:
			info.App = d.App
			return Yes
		case More:
			more = true
		}
	}
	info.App = Unknown
	if more {
		return More
	}
	return No
}

// Detectors returns the registered detectors' apps in order, for tests and
// documentation.
func Detectors() []App {
	out := make([]App, len(detectors))
	for i, d := range detectors {
		out[i] = d.App
	}
	return out
}
