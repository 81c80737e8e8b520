package fleet

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// utmp records as glibc writes them on 64-bit Linux (x86-64, arm64 and
// the other little-endian 64-bit ports), struct utmp of <bits/utmp.h>:
//
//	offset size field
//	     0    2 ut_type (short), then 2 bytes padding
//	     4    4 ut_pid
//	     8   32 ut_line (tty, NUL-padded)
//	    40    4 ut_id
//	    44   32 ut_user
//	    76  256 ut_host
//	   332    4 ut_exit (e_termination, e_exit: shorts)
//	   336    4 ut_session (int32 under __WORDSIZE_TIME64_COMPAT32)
//	   340    8 ut_tv (tv_sec, tv_usec: int32 each, same reason)
//	   348   16 ut_addr_v6 (IPv4 in the first 4 bytes)
//	   364   20 reserved
//	   384      sizeof(struct utmp)
//
// Strings are NUL-padded and need not be NUL-terminated when they fill
// their field.
const utmpSize = 384

// Utmp record types (ut_type) of <bits/utmp.h>.
const (
	UtmpUserProcess = 7 // USER_PROCESS: a login
	UtmpDeadProcess = 8 // DEAD_PROCESS: the login's slot after logout
)

// UtmpRecord is one decoded utmp record.
type UtmpRecord struct {
	Type    int16
	PID     int32
	Line    string // tty: "pts/3"
	ID      string
	User    string
	Host    string // remote host the user came from, if any
	Session int32
	Time    time.Time
	Addr    netip.Addr // remote address, if any
}

// ParseUtmp decodes a utmp file's content. A trailing partial record (a
// writer in the middle of an append) is ignored; string fields are cut
// at their first NUL.
func ParseUtmp(data []byte) []UtmpRecord {
	n := len(data) / utmpSize
	out := make([]UtmpRecord, 0, n)
	for i := range n {
		b := data[i*utmpSize : (i+1)*utmpSize]
		r := UtmpRecord{
			Type:    int16(binary.LittleEndian.Uint16(b[0:])),
			PID:     int32(binary.LittleEndian.Uint32(b[4:])),
			Line:    cString(b[8:40]),
			ID:      cString(b[40:44]),
			User:    cString(b[44:76]),
			Host:    cString(b[76:332]),
			Session: int32(binary.LittleEndian.Uint32(b[336:])),
		}
		sec, usec := int32(binary.LittleEndian.Uint32(b[340:])), int32(binary.LittleEndian.Uint32(b[344:]))
		r.Time = time.Unix(int64(sec), int64(usec)*1000).UTC()
		// ut_addr_v6: an IPv4 address fills the first word only.
		a := b[348:364]
		switch {
		case bytes.Equal(a, make([]byte, 16)):
		case bytes.Equal(a[4:], make([]byte, 12)):
			r.Addr = netip.AddrFrom4([4]byte(a[:4]))
		default:
			r.Addr = netip.AddrFrom16([16]byte(a)).Unmap()
		}
		out = append(out, r)
	}
	return out
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// Marshal encodes the record as glibc's struct utmp; strings longer than
// their field are an error.
func (r UtmpRecord) Marshal() ([]byte, error) {
	b := make([]byte, utmpSize)
	binary.LittleEndian.PutUint16(b[0:], uint16(r.Type))
	binary.LittleEndian.PutUint32(b[4:], uint32(r.PID))
	for _, f := range []struct {
		name, s string
		dst     []byte
	}{{"line", r.Line, b[8:40]}, {"id", r.ID, b[40:44]}, {"user", r.User, b[44:76]}, {"host", r.Host, b[76:332]}} {
		if len(f.s) > len(f.dst) {
			return nil, fmt.Errorf("utmp: %s %q is longer than %d bytes", f.name, f.s, len(f.dst))
		}
		copy(f.dst, f.s)
	}
	binary.LittleEndian.PutUint32(b[336:], uint32(r.Session))
	if !r.Time.IsZero() {
		binary.LittleEndian.PutUint32(b[340:], uint32(int32(r.Time.Unix())))
		binary.LittleEndian.PutUint32(b[344:], uint32(int32(r.Time.Nanosecond()/1000)))
	}
	switch {
	case r.Addr.Is4():
		a := r.Addr.As4()
		copy(b[348:], a[:])
	case r.Addr.Is6():
		a := r.Addr.As16()
		copy(b[348:], a[:])
	}
	return b, nil
}

// Logins returns the users of interactive sessions: USER_PROCESS records
// with a user name, each user once, in order of first appearance. A
// slot reused by a later record counts as that record only (utmp
// rewrites a login's slot as DEAD_PROCESS at logout).
func Logins(recs []UtmpRecord) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range recs {
		if r.Type != UtmpUserProcess || r.User == "" || seen[r.User] {
			continue
		}
		seen[r.User] = true
		out = append(out, r.User)
	}
	return out
}
