package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFlowsConfig(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		want    FlowsConfig
		wantErr string
	}{
		{name: "defaults", toml: `state_dir = "/srv/septa"`, want: FlowsConfig{
			Records: new(true), MaxRecords: DefaultFlowRecords, MaxAge: Duration(DefaultFlowMaxAge), Rate: DefaultRecordRate,
			JoinMax: DefaultRecordJoinMax, JoinTTL: Duration(DefaultRecordJoinTTL), DenyGrace: Duration(DefaultRecordDenyGrace),
			StateFile: "/srv/septa/flows.json.gz", StateRecords: DefaultFlowStateRecords, StateInterval: Duration(DefaultFlowStateInterval),
		}},
		{name: "set", toml: "[flows]\nrecords = false\nmax_records = 10\nmax_age = \"1h\"\nrate = 7\njoin_max = 3\njoin_ttl = \"1m\"\n" +
			"deny_grace = \"5s\"\nstate_file = \"/tmp/f.gz\"\nstate_records = 4\nstate_interval = \"10s\"\n", want: FlowsConfig{
			Records: new(false), MaxRecords: 10, MaxAge: Duration(time.Hour), Rate: 7, JoinMax: 3, JoinTTL: Duration(time.Minute),
			DenyGrace: Duration(5 * time.Second), StateFile: "/tmp/f.gz", StateRecords: 4, StateInterval: Duration(10 * time.Second),
		}},
		{name: "state records past the window", toml: "[flows]\nmax_records = 10\nstate_records = 11\n", wantErr: "flows.state_records: 11 is not from 1 to max_records (10)"},
		{name: "negative duration", toml: "[flows]\nmax_age = \"-1h\"\n", wantErr: "flows: durations must not be negative"},
		{name: "unknown key", toml: "[flows]\nmax_record = 10\n", wantErr: "unknown keys: flows.max_record"},
		{name: "bad duration", toml: "[flows]\njoin_ttl = \"soon\"\n", wantErr: `"soon" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "septad.toml")
			if err := os.WriteFile(path, []byte(tt.toml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfig(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.Flows); diff != "" {
				t.Errorf("flows (-want +got):\n%s", diff)
			}
		})
	}
}

// TestShippedConfig: the default configuration the packages install
// loads, and says what the defaults are.
func TestShippedConfig(t *testing.T) {
	path := "../packaging/etc/septad.toml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err != nil {
		t.Fatal(err)
	}
	// Every commented-out key is a valid key with its default: uncommented,
	// the file still loads to the same configuration.
	var b strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		if k, ok := strings.CutPrefix(line, "# "); ok && strings.Contains(k, " = ") && !strings.Contains(k, `= ""`) {
			line = k
		}
		b.WriteString(line + "\n")
	}
	open := filepath.Join(t.TempDir(), "septad.toml")
	if err := os.WriteFile(open, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(open)
	if err != nil {
		t.Fatalf("the shipped configuration with its keys uncommented: %v", err)
	}
	def, _ := LoadConfig(path)
	if diff := cmp.Diff(def.Flows, got.Flows); diff != "" {
		t.Errorf("[flows] as shipped is not the defaults (-defaults +shipped):\n%s", diff)
	}
}
