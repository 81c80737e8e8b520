package rules

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// Inventory is what septa knows of the workloads: hosts with their
// addresses and tags. Groups select hosts from it by tag, so a policy can
// name a workload before it exists; when it appears in the inventory the
// group's address set grows without any change to the rules.
//
// The inventory file is TOML:
//
//	[[hosts]]
//	name = "prod-db-1"
//	addresses = ["10.3.3.10", "fd00:3::10"]
//	tags = { app = "shop", tier = "db", env = "prod" }
type Inventory struct {
	Hosts []Host // in file order
}

// Host is one workload of the inventory.
type Host struct {
	Name      string
	Addresses []netip.Addr
	Tags      map[string]string
	Pos       Pos
}

// Host returns the host with the given name, or nil.
func (inv *Inventory) Host(name string) *Host {
	if inv == nil {
		return nil
	}
	for i := range inv.Hosts {
		if inv.Hosts[i].Name == name {
			return &inv.Hosts[i]
		}
	}
	return nil
}

// LoadInventory reads an inventory file.
func LoadInventory(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return ParseInventory(path, data)
}

// ParseInventory parses an inventory file's content; name is used in
// error positions.
func ParseInventory(name string, data []byte) (*Inventory, error) {
	errs := &errorsf{}
	root := decodeFile(name, data, errs)
	if root == nil {
		return nil, errs.result()
	}
	inv := &Inventory{}
	seen := map[string]Pos{}
	for _, h := range root.array("hosts", "host") {
		host := Host{Pos: h.pos()}
		if it, ok := h.str("name"); ok {
			if err := checkName(it.s); err != nil {
				h.errorf(it.pos, "name", "%v", err)
			}
			host.Name = it.s
			h.name = it.s
			if prev, dup := seen[it.s]; dup {
				h.errorf(it.pos, "name", "host already defined at %s", prev)
			}
			seen[it.s] = it.pos
		} else if !h.has("name") {
			h.errorf(h.pos(), "name", "required")
		}
		addrs, _ := h.strs("addresses")
		for _, a := range addrs {
			ip, err := netip.ParseAddr(a.s)
			if err != nil || ip.Zone() != "" {
				h.errorf(a.pos, "addresses", "%q is not an IP address", a.s)
				continue
			}
			host.Addresses = append(host.Addresses, ip.Unmap())
		}
		if len(addrs) == 0 && host.Name != "" {
			h.errorf(h.pos(), "addresses", "a host needs at least one address")
		}
		if tags := h.table("tags", "host"); tags != nil {
			tags.name = host.Name
			host.Tags = map[string]string{}
			for _, k := range slices.Sorted(maps.Keys(tags.m)) {
				v, ok := tags.str(k)
				if !ok {
					continue
				}
				if err := checkTag(k, v.s); err != nil {
					tags.errorf(tags.keyPos(k), "tags", "%v", err)
					continue
				}
				host.Tags[k] = v.s
			}
		}
		h.known("description")
		h.done()
		inv.Hosts = append(inv.Hosts, host)
	}
	root.done()
	if err := errs.result(); err != nil {
		return nil, err
	}
	return inv, nil
}

func checkTag(k, v string) error {
	for _, s := range []string{k, v} {
		if s == "" || len(s) > 63 {
			return fmt.Errorf("tag %s=%s: names and values are 1 to 63 characters", k, v)
		}
		for i := 0; i < len(s); i++ {
			if !isTagChar(s[i]) {
				r, _ := utf8.DecodeRuneInString(s[i:])
				return fmt.Errorf("tag %s=%s: %q is not allowed (letters, digits, - _ . /)", k, v, r)
			}
		}
	}
	return nil
}

// decodeFile decodes one TOML file into a table walker, or records the
// syntax error and returns nil.
func decodeFile(name string, data []byte, errs *errorsf) *table {
	var m map[string]any
	if _, err := toml.Decode(string(data), &m); err != nil {
		var pe toml.ParseError
		pos := Pos{File: name}
		msg := err.Error()
		if errors.As(err, &pe) {
			pos.Line, pos.Col = pe.Position.Line, pe.Position.Col
			msg = pe.Message
		}
		errs.addf(pos, "", "", "", "TOML syntax: %s", msg)
		return nil
	}
	return &table{m: m, ps: scanPositions(name, data), errs: errs, seen: map[string]bool{}}
}
