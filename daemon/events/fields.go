package events

import "strings"

// Journald fields of septa's events, in one place so that the sinks, the
// daemon's log handler and the documentation agree. Journald field names
// are upper-case letters, digits and underscores, not starting with an
// underscore. `journalctl SEPTA_EVENT=alert` lists the alerts.
const (
	FieldEvent     = "SEPTA_EVENT"      // EventType: alert, verdict, flow (a flow record), drop, policy, appid
	FieldFlowID    = "SEPTA_FLOW_ID"    // decimal, the same as EVE's flow_id
	FieldRule      = "SEPTA_RULE"       // the deciding policy rule's ID; "default" for the policy default
	FieldAction    = "SEPTA_ACTION"     // allow, deny, reject
	FieldObserve   = "SEPTA_OBSERVE"    // "1" when observe mode let a denied flow pass
	FieldReason    = "SEPTA_REASON"     // policy, app, user, ... (packet.Reason)
	FieldSrc       = "SEPTA_SRC"        // client address:port
	FieldDst       = "SEPTA_DST"        // server address:port
	FieldProto     = "SEPTA_PROTO"      // tcp, udp, icmp, ...
	FieldApp       = "SEPTA_APP"        // septa's application name
	FieldAppProto  = "SEPTA_APP_PROTO"  // Suricata's app-layer name
	FieldUser      = "SEPTA_USER"       // the user behind the flow
	FieldGroups    = "SEPTA_GROUPS"     // the user's groups, comma-separated
	FieldProcess   = "SEPTA_PROCESS"    // the local process
	FieldCmdline   = "SEPTA_CMDLINE"    // the local process's command line
	FieldZoneSrc   = "SEPTA_ZONE_SRC"   // the client's zone
	FieldZoneDst   = "SEPTA_ZONE_DST"   // the server's zone
	FieldGroupsSrc = "SEPTA_GROUPS_SRC" // the client's inventory groups, comma-separated
	FieldGroupsDst = "SEPTA_GROUPS_DST" // the server's inventory groups, comma-separated
	FieldSNI       = "SEPTA_SNI"        // TLS server name
	FieldHTTPHost  = "SEPTA_HTTP_HOST"  // HTTP Host header
	FieldDecider   = "SEPTA_DECIDER"    // kernel or inspector

	// Flow records (SEPTA_EVENT=flow) only.
	FieldPktsToServer  = "SEPTA_PKTS_TOSERVER"
	FieldPktsToClient  = "SEPTA_PKTS_TOCLIENT"
	FieldBytesToServer = "SEPTA_BYTES_TOSERVER"
	FieldBytesToClient = "SEPTA_BYTES_TOCLIENT"
	FieldStart         = "SEPTA_START"      // RFC 3339, nanoseconds
	FieldEnd           = "SEPTA_END"        // RFC 3339, nanoseconds
	FieldState         = "SEPTA_STATE"      // new, established, closed
	FieldEndReason     = "SEPTA_END_REASON" // timeout, ...
	FieldAlerted       = "SEPTA_ALERTED"    // "1" when an alert was raised on the flow

	FieldAlertAction = "SEPTA_ALERT_ACTION" // allowed, blocked
	FieldGID         = "SEPTA_GID"
	FieldSID         = "SEPTA_SID"
	FieldRev         = "SEPTA_REV"
	FieldSignature   = "SEPTA_SIGNATURE"
	FieldCategory    = "SEPTA_CATEGORY"
	FieldSeverity    = "SEPTA_SEVERITY"

	FieldGeneration = "SEPTA_GENERATION" // policy generation
	FieldRevision   = "SEPTA_REVISION"   // policy revision
	FieldError      = "SEPTA_ERROR"      // a failed reload's error

	// FieldComponent carries slog's component attribute.
	FieldComponent = "SEPTA_COMPONENT"
)

// Fields lists every field above, for tests and documentation.
var Fields = []string{
	FieldEvent, FieldFlowID, FieldRule, FieldAction, FieldObserve, FieldReason,
	FieldSrc, FieldDst, FieldProto, FieldApp, FieldAppProto, FieldUser, FieldGroups,
	FieldProcess, FieldCmdline, FieldZoneSrc, FieldZoneDst, FieldGroupsSrc, FieldGroupsDst,
	FieldSNI, FieldHTTPHost, FieldDecider, FieldPktsToServer, FieldPktsToClient, FieldBytesToServer,
	FieldBytesToClient, FieldStart, FieldEnd, FieldState, FieldEndReason, FieldAlerted, FieldAlertAction, FieldGID, FieldSID, FieldRev,
	FieldSignature, FieldCategory, FieldSeverity, FieldGeneration, FieldRevision,
	FieldError, FieldComponent,
}

// FieldFor returns the journald field for a log attribute key: "rule"
// gives SEPTA_RULE, "zone_src" SEPTA_ZONE_SRC, "flow.id" SEPTA_FLOW_ID.
// Every character journald does not allow becomes an underscore, so that
// the daemon's slog handler can map any attribute one-to-one.
func FieldFor(key string) string {
	var b strings.Builder
	b.Grow(len("SEPTA_") + len(key))
	b.WriteString("SEPTA_")
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			c = '_'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// validField reports whether name is a field journald accepts.
func validField(name string) bool {
	if name == "" || name[0] == '_' || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
