package appid

import (
	"reflect"
	"slices"
	"testing"

	"github.com/septa-fw/septa/rules/ir"
)

// TestNamesMatchPolicy checks that every application a policy may name is
// one app-ID can report, and the other way round.
func TestNamesMatchPolicy(t *testing.T) {
	var names []string
	for a := App(1); a < numApps; a++ {
		names = append(names, a.String())
		if got, ok := ParseApp(a.String()); !ok || got != a {
			t.Errorf("ParseApp(%q) = %v, %v", a.String(), got, ok)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, ir.Apps) {
		t.Errorf("app names %v differ from ir.Apps %v", names, ir.Apps)
	}
}

// TestDetectorsUnique checks the detector table has one entry per app.
func TestDetectorsUnique(t *testing.T) {
	seen := map[App]bool{}
	for _, d := range detectors {
		if seen[d.App] {
			t.Errorf("two detectors for %v", d.App)
		}
		seen[d.App] = true
	}
}

func TestIdentifyUnknownIsNotGuessed(t *testing.T) {
	var info Info
	// Random bytes to port 80 are not HTTP: the port proves nothing.
	in := &Input{Transport: TCP, ToServer: []byte{0x17, 0x42, 0x99, 0x00, 0x01, 0x02, 0x03, 0x04}, ServerPort: 80}
	if got := Identify(in, &info); got == Yes || info.App != Unknown {
		t.Errorf("Identify = %v app %v, want no identification", got, info.App)
	}
}

func TestIdentifyNoAllocs(t *testing.T) {
	in := &Input{Transport: TCP, ToServer: []byte("GET / HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: x\r\n\r\n")}
	var info Info
	if n := testing.AllocsPerRun(100, func() { Identify(in, &info) }); n != 0 {
		t.Errorf("Identify allocates %v times, want 0", n)
	}
}

// TestInfoReset checks that reset clears every field but Scratch, so a
// field added to Info cannot be forgotten there.
func TestInfoReset(t *testing.T) {
	var info Info
	v := reflect.ValueOf(&info).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Slice:
			f.Set(reflect.ValueOf([]byte("x")))
		case reflect.Array:
			f.Index(0).SetUint(1)
		case reflect.Bool:
			f.SetBool(true)
		default:
			f.SetUint(1)
		}
	}
	info.reset()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if name == "Scratch" {
			if info.Scratch[0] != 1 {
				t.Error("reset cleared Scratch")
			}
			continue
		}
		if !v.Field(i).IsZero() {
			t.Errorf("reset left %s set", name)
		}
	}
}

// TestIdentifyUnknownSettles checks that bytes no protocol has give No,
// not an endless More that would hold the flow until its depth runs out.
func TestIdentifyUnknownSettles(t *testing.T) {
	junk := []byte("\x8a\x13\x77\xfe\x00\x10\x42\x42 random bytes of no protocol \x01\x02\x03\xff\xfe")
	tests := []struct {
		name string
		in   Input
		want Result
	}{
		{name: "tcp client junk", in: Input{Transport: TCP, ToServer: junk}, want: No},
		{name: "tcp both junk", in: Input{Transport: TCP, ToServer: junk, ToClient: junk}, want: No},
		// The client may still speak: a client-first protocol is possible.
		{name: "tcp server junk", in: Input{Transport: TCP, ToClient: junk}, want: More},
		{name: "udp junk", in: Input{Transport: UDP, ToServer: junk}, want: No},
		{name: "text line", in: Input{Transport: TCP, ToServer: []byte("hello there\r\n")}, want: No},
		{name: "nothing yet", in: Input{Transport: TCP}, want: More},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var info Info
			if got := Identify(&tt.in, &info); got != tt.want {
				var more []App
				for _, d := range detectors {
					if d.Transport == TransportUnknown || d.Transport == tt.in.Transport {
						if d.Detect(&tt.in, new(Info)) == More {
							more = append(more, d.App)
						}
					}
				}
				t.Errorf("Identify = %v, want %v (more: %v)", got, tt.want, more)
			}
		})
	}
}

// TestIdentifyNoStaleFields checks that a detector's fields do not leak
// into another's answer: a PostgreSQL startup cut before its terminator
// fills User and then says No.
func TestIdentifyNoStaleFields(t *testing.T) {
	in := &Input{Transport: TCP, ToServer: []byte("\x00\x00\x00\x12\x00\x03\x00\x00user\x00bob\x00xx")}
	var info Info
	Identify(in, &info)
	if info.User != nil {
		t.Errorf("User = %q after no identification", info.User)
	}
}
