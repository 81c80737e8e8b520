package benchkit

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseIperf(t *testing.T) {
	report, err := os.ReadFile(filepath.Join("testdata", "iperf3.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		want    float64
		wantErr bool
	}{
		// iperf3 3.12 -J between two namespaces over loopback.
		{"iperf3 3.12 report", string(report), 14791095265.475191 / 1e9, false},
		{"error report", `{"start":{},"intervals":[],"end":{},"error":"unable to connect to server: Connection refused"}`, 0, true},
		{"no end", `{"start":{}}`, 0, true},
		{"negative", `{"end":{"sum_received":{"bits_per_second":-1}}}`, 0, true},
		{"not JSON", `iperf3: error`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIperf([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseIperf error = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseIperf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		// /proc/self/stat of a shell, utime 1234 and stime 56 ticks.
		{"plain", "4242 (bash) S 1 4242 4242 34816 4242 4194560 1111 0 0 0 1234 56 0 0 20 0 1 0 100 9000000 800 18446744073709551615", 12900 * time.Millisecond, false},
		{"command with spaces and parentheses", "7 (a b) c)) S 1 7 7 0 -1 4194560 0 0 0 0 100 100 0 0 20 0 1 0 1 1 1 1", 2 * time.Second, false},
		{"truncated", "7 (x) S 1 7", 0, true},
		{"no command", "7 x S", 0, true},
		{"bad number", "7 (x) S 1 7 7 0 -1 4194560 0 0 0 0 1x 100 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatCPU([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseStatCPU error = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseStatCPU = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseStatusRSS(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		rss, peak int64
		wantErr   bool
	}{
		{"both", "Name:\tseptad\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n", 100 << 20, 200 << 20, false},
		{"missing peak", "VmRSS:\t 1 kB\n", 0, 0, true},
		{"bad unit", "VmRSS:\t 1 MB\nVmHWM:\t 1 kB\n", 0, 0, true},
		{"empty", "", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rss, peak, err := ParseStatusRSS([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseStatusRSS error = %v, want error %v", err, tt.wantErr)
			}
			if rss != tt.rss || peak != tt.peak {
				t.Errorf("ParseStatusRSS = %d, %d, want %d, %d", rss, peak, tt.rss, tt.peak)
			}
		})
	}
}

func TestProcCPUSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	// Burn some CPU so that the reading cannot be zero.
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	got, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got <= 0 {
		t.Errorf("ProcCPU(self) = %v after burning CPU, want > 0", got)
	}
	if _, _, err := ProcRSS(os.Getpid()); err != nil {
		t.Errorf("ProcRSS(self): %v", err)
	}
}

func FuzzParseIperf(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "iperf3.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"end":{"sum_received":{"bits_per_second":1e9}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseIperf(b)
		if err == nil && g < 0 {
			t.Errorf("ParseIperf accepted a negative throughput %v", g)
		}
	})
}

func FuzzParseProc(f *testing.F) {
	f.Add([]byte("4242 (bash) S 1 4242 4242 34816 4242 4194560 1111 0 0 0 1234 56 0 0 20 0 1 0 100 9000000 800 1"))
	f.Add([]byte("VmHWM:\t 2 kB\nVmRSS:\t 1 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := ParseStatCPU(b); err == nil && d < 0 {
			t.Errorf("ParseStatCPU = %v < 0", d)
		}
		if rss, peak, err := ParseStatusRSS(b); err == nil && (rss < 0 || peak < 0) {
			t.Errorf("ParseStatusRSS = %d, %d", rss, peak)
		}
	})
}
