package rules

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseInventory(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    *Inventory
		wantErr string
	}{
		{
			name: "empty",
			src:  "",
			want: &Inventory{},
		},
		{
			name: "hosts in file order",
			src: `[[hosts]]
name = "web-1"
description = "front"
addresses = ["10.3.1.10", "fd00:3::10", "::ffff:10.3.1.11"]
tags = { app = "shop", tier = "web" }

[[hosts]]
name = "db-1"
addresses = "10.3.3.10"
[hosts.tags]
"k8s.io/app" = "db.v1"
`,
			want: &Inventory{Hosts: []Host{
				{
					Name: "web-1",
					Addresses: []netip.Addr{
						netip.MustParseAddr("10.3.1.10"), netip.MustParseAddr("fd00:3::10"), netip.MustParseAddr("10.3.1.11"),
					},
					Tags: map[string]string{"app": "shop", "tier": "web"},
					Pos:  Pos{"inv.toml", 1, 1},
				},
				{
					Name:      "db-1",
					Addresses: []netip.Addr{netip.MustParseAddr("10.3.3.10")},
					Tags:      map[string]string{"k8s.io/app": "db.v1"},
					Pos:       Pos{"inv.toml", 7, 1},
				},
			}},
		},
		{
			name: "a host without tags",
			src:  "[[hosts]]\nname = \"x\"\naddresses = [\"192.0.2.1\"]\n",
			want: &Inventory{Hosts: []Host{{Name: "x", Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, Pos: Pos{"inv.toml", 1, 1}}}},
		},
		{
			name:    "syntax",
			src:     "[[hosts]]\nname = \"web-1\n",
			wantErr: "inv.toml:2:14: TOML syntax: strings cannot contain newlines",
		},
		{
			name:    "hosts is not an array of tables",
			src:     "hosts = [\"web-1\"]\n",
			wantErr: `inv.toml:1:10: hosts: want a table, not a string`,
		},
		{
			name: "every error, sorted",
			src: `[[hosts]]
name = "web-1"
addresses = ["10.0.0.300"]
tags = { "bad tag" = "x", ok = "" }
colour = "blue"

[[hosts]]
name = "web-1"
addresses = ["10.0.0.1"]
`,
			wantErr: `inv.toml:3:14: host "web-1": addresses: "10.0.0.300" is not an IP address
inv.toml:4:10: host "web-1": tags: tag bad tag=x: ' ' is not allowed (letters, digits, - _ . /)
inv.toml:4:27: host "web-1": tags: tag ok=: names and values are 1 to 63 characters
inv.toml:5:1: host "web-1": colour: unknown key
inv.toml:8:8: host "web-1": name: host already defined at inv.toml:2:8`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInventory("inv.toml", []byte(tt.src))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseInventory succeeded, want error:\n%s", tt.wantErr)
				}
				if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				if got != nil {
					t.Errorf("an invalid inventory returned %+v", got)
				}
				if len(Errors(err)) == 0 {
					t.Errorf("Errors(%v) is empty, want the policy errors", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseInventory: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestInventoryHost(t *testing.T) {
	inv, err := ParseInventory("inv.toml", []byte("[[hosts]]\nname = \"a\"\naddresses = [\"192.0.2.1\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if h := inv.Host("a"); h == nil || h.Name != "a" {
		t.Errorf("Host(%q) = %v, want host a", "a", h)
	}
	if h := inv.Host("b"); h != nil {
		t.Errorf("Host(%q) = %v, want nil", "b", h)
	}
	var none *Inventory
	if h := none.Host("a"); h != nil {
		t.Errorf("nil inventory: Host(%q) = %v, want nil", "a", h)
	}
}

func TestLoadInventory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "inventory.toml")
	if err := os.WriteFile(path, []byte("[[hosts]]\nname = \"a\"\naddresses = [\"192.0.2.1\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inv, err := LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Hosts) != 1 || inv.Hosts[0].Pos.File != path {
		t.Errorf("LoadInventory(%q) = %+v, want one host positioned in the file", path, inv)
	}
	_, err = LoadInventory(filepath.Join(dir, "missing.toml"))
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "inventory: ") {
		t.Errorf("LoadInventory(missing) = %v, want an inventory: ... not-exist error", err)
	}
}
