package appid

import (
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
