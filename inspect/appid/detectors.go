package appid

// detectors are tried in this order and the first Yes wins. The order is
// data, kept in one place, rather than the order of init functions:
//
//   - a protocol that refines another comes before it (gRPC before
//     HTTP/2);
//   - client-first protocols with a strong signature (a magic string, a
//     self-consistent binary header) come before weaker ones, so that a
//     weak detector never sees bytes a strong one would claim: Kafka's
//     header check after PostgreSQL's and MongoDB's, NTP (a 48-byte
//     datagram with a plausible first byte) last of all;
//   - server-first protocols (MySQL, SMTP, FTP, IMAP, POP3), which judge
//     the server's greeting, come after every client-first one.
var detectors = []Detector{
	{App: GRPC, Transport: TCP, Detect: detectGRPC},
	{App: HTTP2, Transport: TCP, Detect: detectHTTP2},
	{App: HTTP, Transport: TCP, Detect: detectHTTP},
	{App: TLS, Transport: TCP, Detect: detectTLS},
	{App: SSH, Transport: TCP, Detect: detectSSH},
	{App: QUIC, Transport: UDP, Detect: detectQUIC},
	{App: SMB, Transport: TCP, Detect: detectSMB},
	{App: RDP, Transport: TCP, Detect: detectRDP},
	{App: PostgreSQL, Transport: TCP, Detect: detectPostgreSQL},
	{App: MongoDB, Transport: TCP, Detect: detectMongoDB},
	{App: Redis, Transport: TCP, Detect: detectRedis},
	{App: MQTT, Transport: TCP, Detect: detectMQTT},
	{App: AMQP, Transport: TCP, Detect: detectAMQP},
	{App: Kerberos, Transport: TransportUnknown, Detect: detectKerberos},
	{App: LDAP, Transport: TransportUnknown, Detect: detectLDAP},
	{App: SNMP, Transport: UDP, Detect: detectSNMP},
	{App: SIP, Transport: TransportUnknown, Detect: detectSIP},
	{App: DNS, Transport: TransportUnknown, Detect: detectDNS},
	{App: Kafka, Transport: TCP, Detect: detectKafka},
	{App: Memcached, Transport: TCP, Detect: detectMemcached},
	{App: MySQL, Transport: TCP, Detect: detectMySQL},
	{App: SMTP, Transport: TCP, Detect: detectSMTP},
	{App: FTP, Transport: TCP, Detect: detectFTP},
	{App: IMAP, Transport: TCP, Detect: detectIMAP},
	{App: POP3, Transport: TCP, Detect: detectPOP3},
	{App: NTP, Transport: UDP, Detect: detectNTP},
}
