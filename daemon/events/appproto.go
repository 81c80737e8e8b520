package events

// AppProtoFailed is Suricata's app_proto for a flow whose protocol
// detection ran and found nothing.
const AppProtoFailed = "failed"

// suricataApps maps septa's application names (ir.Apps, appid.App's
// String) to Suricata's app-layer names where they differ. Names that
// Suricata spells the same way (http, tls, ssh, dns, smtp, ...) are
// missing here and pass through AppProto unchanged, and so do the
// protocols Suricata has no parser for (mongodb, amqp, memcached,
// kafka, ...): SIEM pipelines take any string, and a name is more use
// than "failed" for a protocol that was identified.
var suricataApps = map[string]string{
	"unknown":    AppProtoFailed,
	"postgresql": "pgsql",
	"kerberos":   "krb5",
	// gRPC is HTTP/2 to Suricata; septa tells them apart by content-type.
	"grpc": "http2",
}

// AppProto returns Suricata's app_proto for septa's application name:
// "pgsql" for "postgresql", "failed" for "unknown" (app-ID ran and did
// not identify the flow), "" for "" (app-ID did not run: the flow was
// decided on addresses and ports alone, and EVE omits app_proto as
// Suricata does before detection).
func AppProto(app string) string {
	if s, ok := suricataApps[app]; ok {
		return s
	}
	return app
}
