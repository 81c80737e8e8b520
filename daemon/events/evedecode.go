package events

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"
)

// The reading side of eve.go: EVE JSON lines, septa's or Suricata's,
// decoded back into Events, so that every offline command (septa map,
// recommend, check --impact) can read a recorded EVE file.

// maxEVELine bounds one EVE line. Suricata's flow events are well under a
// kilobyte; a longer line is not a flow event and is counted as bad.
const maxEVELine = 1 << 20

// eveIn is the subset of an EVE record the decoder reads. Numbers are
// pointers where absence and zero differ (ports of ICMP flows).
type eveIn struct {
	Timestamp string    `json:"timestamp"`
	FlowID    uint64    `json:"flow_id"`
	EventType string    `json:"event_type"`
	SrcIP     string    `json:"src_ip"`
	SrcPort   *uint16   `json:"src_port"`
	DestIP    string    `json:"dest_ip"`
	DestPort  *uint16   `json:"dest_port"`
	Proto     string    `json:"proto"`
	AppProto  string    `json:"app_proto"`
	Flow      *eveFlow  `json:"flow"`
	Septa     *eveSepta `json:"septa"`
}

// DecodeEVE decodes one EVE JSON line into an Event. Only flow records and
// flow decisions are decoded: event_type "flow" (septa's and Suricata's;
// a flow record when it has an end, a decision in septa's files written
// before decisions had a type of their own), "verdict" (septa's
// decisions that let a flow pass) and "drop" (septa's denied flows); for
// any other event type it returns nil and no error. A line that is not a
// valid EVE record is an error.
func DecodeEVE(line []byte) (*Event, error) {
	var in eveIn
	if err := json.Unmarshal(line, &in); err != nil {
		return nil, fmt.Errorf("eve: %w", jsonMessage(err))
	}
	var kind Kind
	switch in.EventType {
	case "flow", "verdict":
		kind = KindFlow
	case "drop":
		kind = KindDrop
	case "":
		return nil, errors.New("eve: no event_type")
	default:
		return nil, nil
	}
	e := &Event{Kind: kind, FlowID: in.FlowID, AppProto: in.AppProto}
	var err error
	if e.Time, err = parseEVETime(in.Timestamp); err != nil {
		return nil, fmt.Errorf("eve: timestamp: %w", err)
	}
	if e.Proto, err = parseProto(in.Proto); err != nil {
		return nil, fmt.Errorf("eve: proto: %w", err)
	}
	if e.Src, err = parseEndpoint(in.SrcIP, in.SrcPort); err != nil {
		return nil, fmt.Errorf("eve: src: %w", err)
	}
	if e.Dst, err = parseEndpoint(in.DestIP, in.DestPort); err != nil {
		return nil, fmt.Errorf("eve: dest: %w", err)
	}
	if f := in.Flow; f != nil {
		e.PacketsToServer, e.PacketsToClient = f.PktsToServer, f.PktsToClient
		e.BytesToServer, e.BytesToClient = f.BytesToServer, f.BytesToClient
		if f.Start != "" {
			if e.Start, err = parseEVETime(f.Start); err != nil {
				return nil, fmt.Errorf("eve: flow.start: %w", err)
			}
		}
		if f.End != "" {
			if e.End, err = parseEVETime(f.End); err != nil {
				return nil, fmt.Errorf("eve: flow.end: %w", err)
			}
		}
		e.State, e.EndReason = f.State, f.Reason
		if f.Alerted != nil {
			e.Alerted = *f.Alerted
		}
	}
	if s := in.Septa; s != nil {
		e.Rule, e.Action, e.Observe, e.Reason = s.Rule, s.Verdict, s.Observe, s.Reason
		e.App, e.User, e.Groups, e.Process, e.Cmdline = s.App, s.User, s.Groups, s.Process, s.Cmdline
		e.ZoneSrc, e.ZoneDst, e.GroupsSrc, e.GroupsDst = s.ZoneSrc, s.ZoneDst, s.GroupsSrc, s.GroupsDst
		e.SNI, e.HTTPHost, e.Decider = s.SNI, s.HTTPHost, s.Decider
	}
	if e.App == "" && in.AppProto != "" {
		// Suricata's own flow events: its app-layer name in septa's
		// words ("pgsql" is "postgresql", "failed" is "unknown").
		e.App = appFromSuricata(in.AppProto)
	}
	return e, nil
}

// jsonMessage drops encoding/json's Go type names from syntax and type
// errors, which mean nothing to an operator reading a log file.
func jsonMessage(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %s", se.Offset, se.Error())
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %q: %s is not a %s", te.Field, te.Value, te.Type)
	}
	return err
}

// parseEVETime accepts Suricata's timestamp layout and RFC 3339, which
// other tools writing EVE use.
func parseEVETime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	t, err := time.Parse(EVETimeLayout, s)
	if err == nil {
		return t, nil
	}
	if t, err2 := time.Parse(time.RFC3339Nano, s); err2 == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an EVE time (%s)", s, EVETimeLayout)
}

// parseProto reverses ProtoName: Suricata's names, any case, or a number.
func parseProto(s string) (uint8, error) {
	if s == "" {
		return 0, nil
	}
	for n, name := range protoNames {
		if equalFoldASCII(name, s) {
			return n, nil
		}
	}
	if equalFoldASCII(s, "icmpv6") {
		return protoICMPv6, nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("unknown protocol %q", s)
	}
	return uint8(n), nil
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func parseEndpoint(ip string, port *uint16) (netip.AddrPort, error) {
	if ip == "" {
		if port != nil {
			return netip.AddrPort{}, errors.New("a port without an address")
		}
		return netip.AddrPort{}, nil
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.AddrPort{}, err
	}
	var p uint16
	if port != nil {
		p = *port
	}
	return netip.AddrPortFrom(a, p), nil
}

// appFromSuricata reverses AppProto. gRPC, which Suricata calls http2,
// stays http2: only septa's own record can tell them apart.
func appFromSuricata(proto string) string {
	for app, s := range suricataApps {
		if s == proto && app != "grpc" {
			return app
		}
	}
	return proto
}

// LineError is a line of an EVE file that could not be decoded.
type LineError struct {
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// maxLineErrors is how many bad lines an EVEReader keeps for its report;
// it counts them all.
const maxLineErrors = 10

// EVEReader reads flow events from an EVE file line by line. Bad lines
// never stop it: each is counted, and the first few are kept with their
// line numbers (Bad, Errors). It is not safe for concurrent use.
type EVEReader struct {
	r       *bufio.Reader
	line    int
	bad     int
	errs    []*LineError
	skipped int
}

// NewEVEReader returns a reader of r.
func NewEVEReader(r io.Reader) *EVEReader {
	return &EVEReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next flow event, or io.EOF at the end of the input.
// Other errors are those of the underlying reader.
func (x *EVEReader) Next() (*Event, error) {
	for {
		line, err := x.readLine()
		if line == nil {
			return nil, err
		}
		x.line++
		if len(line) > maxEVELine {
			x.fail(errors.New("line longer than 1 MiB"))
			continue
		}
		if len(trimSpace(line)) == 0 {
			continue
		}
		e, derr := DecodeEVE(line)
		switch {
		case derr != nil:
			x.fail(derr)
		case e == nil:
			x.skipped++
		default:
			return e, nil
		}
	}
}

// readLine returns the next line without its newline (nil at the end and
// on errors, with the error). A line longer than maxEVELine is returned
// truncated to maxEVELine+1 bytes, the rest of it discarded.
func (x *EVEReader) readLine() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := x.r.ReadSlice('\n')
		if len(buf)+len(chunk) <= maxEVELine+1 {
			buf = append(buf, chunk...)
		} else if len(buf) <= maxEVELine {
			buf = append(buf, chunk[:maxEVELine+1-len(buf)]...)
		}
		switch {
		case err == nil:
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(buf) > 0:
			return buf, nil
		default:
			return nil, err
		}
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func (x *EVEReader) fail(err error) {
	x.bad++
	if len(x.errs) < maxLineErrors {
		x.errs = append(x.errs, &LineError{Line: x.line, Err: err})
	}
}

// Lines returns how many lines were read so far.
func (x *EVEReader) Lines() int { return x.line }

// Bad returns how many lines could not be decoded.
func (x *EVEReader) Bad() int { return x.bad }

// Skipped returns how many lines held other event types.
func (x *EVEReader) Skipped() int { return x.skipped }

// Errors returns the first bad lines, with their line numbers.
func (x *EVEReader) Errors() []*LineError { return x.errs }

// ReadEVE reads every flow event of r. Bad lines do not fail it: they
// are in the returned reader's Bad and Errors.
func ReadEVE(r io.Reader) ([]*Event, *EVEReader, error) {
	x := NewEVEReader(r)
	var out []*Event
	for {
		e, err := x.Next()
		if err == io.EOF {
			return out, x, nil
		}
		if err != nil {
			return out, x, fmt.Errorf("eve: line %d: %w", x.line+1, err)
		}
		out = append(out, e)
	}
}
