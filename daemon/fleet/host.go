package fleet

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/septa-fw/septa/rules"
)

// HostRecord is a host's registration under inventory/hosts/NAME: what
// the other hosts' groups select it by.
type HostRecord struct {
	Name      string            `json:"name"`
	Addresses []netip.Addr      `json:"addresses"`
	Tags      map[string]string `json:"tags,omitempty"`
}

// Host validates the record with the inventory file's own rules
// (rules.ParseInventory) and returns it as an inventory host. key names
// the record in errors.
func (h HostRecord) Host(key string) (rules.Host, error) {
	var buf bytes.Buffer
	doc := map[string]any{"hosts": []map[string]any{{
		"name": h.Name, "addresses": addrStrings(h.Addresses), "tags": h.Tags,
	}}}
	if h.Tags == nil {
		delete(doc["hosts"].([]map[string]any)[0], "tags")
	}
	if err := toml.NewEncoder(&buf).Encode(doc); err != nil {
		return rules.Host{}, fmt.Errorf("host %s: %w", key, err)
	}
	inv, err := rules.ParseInventory(key, buf.Bytes())
	if err != nil {
		// Positions in the TOML made here mean nothing to anyone: name
		// the key and the field instead.
		var msgs []string
		for _, e := range rules.Errors(err) {
			msgs = append(msgs, fmt.Sprintf("%s: %v", e.Field, e.Err))
		}
		if len(msgs) == 0 {
			return rules.Host{}, fmt.Errorf("host %s: %w", key, err)
		}
		return rules.Host{}, fmt.Errorf("host %s: %s", key, strings.Join(msgs, "; "))
	}
	return inv.Hosts[0], nil
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// DecodeHost parses and validates a stored registration; the name must
// be the one of its key.
func DecodeHost(key, name string, data []byte) (rules.Host, error) {
	var rec HostRecord
	if err := strictJSON(data, &rec); err != nil {
		return rules.Host{}, fmt.Errorf("host %s: %w", key, err)
	}
	if rec.Name != name {
		return rules.Host{}, fmt.Errorf("host %s: name %q does not match its key", key, rec.Name)
	}
	return rec.Host(key)
}

func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the value")
	}
	return nil
}

// CheckHostName checks a host name as the inventory does.
func CheckHostName(name string) error {
	_, err := HostRecord{Name: name, Addresses: []netip.Addr{netip.IPv4Unspecified()}}.Host("fleet.host")
	return err
}

func checkTag(k, v string) error {
	_, err := HostRecord{Name: "h", Addresses: []netip.Addr{netip.IPv4Unspecified()}, Tags: map[string]string{k: v}}.Host("fleet.tags")
	return err
}

// LocalAddrs lists the addresses of this host's interfaces that others
// can reach: loopback and link-local addresses are left out.
func LocalAddrs() ([]netip.Addr, error) {
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("fleet: interface addresses: %w", err)
	}
	var out []netip.Addr
	for _, a := range ifs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		ip := p.Addr().Unmap()
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() {
			continue
		}
		out = append(out, ip)
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(out), nil
}

// Facts are tags septad discovers about its host: os (runtime.GOOS) and,
// on Linux, distro and distro_version from /etc/os-release.
func Facts(osRelease string) map[string]string {
	f := map[string]string{"os": runtime.GOOS}
	data, err := os.ReadFile(osRelease)
	if err != nil {
		return f
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			f["distro"] = v
		case "VERSION_ID":
			f["distro_version"] = v
		}
	}
	for k, v := range f {
		if checkTag(k, v) != nil {
			delete(f, k) // a fact that is not a valid tag is not published
		}
	}
	return f
}

// Record returns this host's registration: configured tags win over
// discovered facts of the same name.
func (c Config) Record(addrs []netip.Addr, facts map[string]string) HostRecord {
	tags := maps.Clone(facts)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, c.Tags)
	return HostRecord{Name: c.Host, Addresses: addrs, Tags: tags}
}

// MergeInventory returns the hosts of a local inventory file followed by
// the registered hosts in name order; a registered host whose name the
// file already has is left out (the file is the operator's word).
func MergeInventory(local *rules.Inventory, registered map[string]rules.Host) (*rules.Inventory, []string) {
	inv := &rules.Inventory{}
	var shadowed []string
	if local != nil {
		inv.Hosts = append(inv.Hosts, local.Hosts...)
	}
	for _, name := range slices.Sorted(maps.Keys(registered)) {
		if inv.Host(name) != nil {
			shadowed = append(shadowed, name)
			continue
		}
		inv.Hosts = append(inv.Hosts, registered[name])
	}
	return inv, shadowed
}
