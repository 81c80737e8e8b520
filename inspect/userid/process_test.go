package userid

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestProcessNotFound(t *testing.T) {
	p := NewProcesses(time.Minute)
	t.Cleanup(func() { p.Close() })
	tests := []struct {
		name          string
		proto         uint8
		local, remote netip.AddrPort
	}{
		{"zero addresses", 6, netip.AddrPort{}, netip.AddrPort{}},
		{"icmp", 1, netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.0.1:2")},
		{"documentation prefix", 6, netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("198.51.100.1:2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := p.Process(tt.proto, tt.local, tt.remote); got != "" {
				t.Errorf("Process(%d, %v, %v) = %q, want \"\"", tt.proto, tt.local, tt.remote, got)
			}
		})
	}
}

func TestProcessHints(t *testing.T) {
	tests := []struct {
		name string
		pids []int
		want []int
	}{
		{"newest first", []int{1, 2, 3}, []int{3, 2, 1}},
		{"repeat moves to front", []int{1, 2, 3, 1}, []int{1, 3, 2}},
		{"repeat of the newest", []int{1, 2, 2}, []int{2, 1}},
		{"bounded", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []int{10, 9, 8, 7, 6, 5, 4, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Processes{}
			for _, pid := range tt.pids {
				p.hintLocked(pid)
			}
			if diff := cmp.Diff(tt.want, p.hints); diff != "" {
				t.Errorf("hints (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPutBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	live, dead := now.Add(time.Second), now

	t.Run("expired go first", func(t *testing.T) {
		m := map[int]procEntry{}
		for i := range maxProcessCache {
			exp := live
			if i%2 == 0 {
				exp = dead
			}
			m[i] = procEntry{expires: exp}
		}
		putBoundedLocked(m, -1, procEntry{path: "/new", expires: live}, now)
		if got, want := len(m), maxProcessCache/2+1; got != want {
			t.Errorf("len = %d, want %d", got, want)
		}
		for k, e := range m {
			if !now.Before(e.expires) {
				t.Errorf("expired entry %d kept", k)
			}
		}
		if m[-1].path != "/new" {
			t.Errorf("new entry = %+v", m[-1])
		}
	})
	t.Run("live ones go when needed", func(t *testing.T) {
		m := map[int]procEntry{}
		for i := range maxProcessCache {
			m[i] = procEntry{expires: live}
		}
		putBoundedLocked(m, -1, procEntry{path: "/new", expires: live}, now)
		if got, want := len(m), maxProcessCache*3/4; got != want {
			t.Errorf("len = %d, want %d", got, want)
		}
		if m[-1].path != "/new" {
			t.Errorf("new entry = %+v", m[-1])
		}
	})
	t.Run("replacing does not evict", func(t *testing.T) {
		m := map[int]procEntry{}
		for i := range maxProcessCache {
			m[i] = procEntry{expires: live}
		}
		putBoundedLocked(m, 7, procEntry{path: "/new", expires: live}, now)
		if got := len(m); got != maxProcessCache {
			t.Errorf("len = %d, want %d", got, maxProcessCache)
		}
	})
}
