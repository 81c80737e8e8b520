package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/septa-fw/septa/daemon/fleet"
	"github.com/septa-fw/septa/inspect"
	"github.com/septa-fw/septa/inspect/userid"
	"github.com/septa-fw/septa/rules"
	"github.com/septa-fw/septa/rules/ir"
)

// Fleet mode (docs/fleet.md): the agent of package fleet follows etcd and
// hands septad compiled policies and remote sessions. Until the first
// fleet revision arrives, septad enforces the revision cached in its state
// directory, or else its local policy directory (the bootstrap policy).

// startFleet creates the agent and restores its cache; it talks to etcd
// only once Run starts it.
func (d *Daemon) startFleet() error {
	fc := d.cfg.Fleet
	if !fc.Enabled || d.fleet != nil {
		return nil
	}
	cli, err := fleet.Dial(fc)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	var sessions func() ([]fleet.Session, error)
	if fc.Utmp != "none" {
		sessions = func() ([]fleet.Session, error) { return fleet.UtmpSessions(fc.Utmp) }
	}
	d.fleet = fleet.NewAgent(fleet.Options{
		Config: fc, Client: cli, Target: fleetTarget{d}, Log: d.log.With("component", "fleet"),
		StateDir: d.cfg.StateDir, Local: d.localInventory, Facts: fleet.Facts("/etc/os-release"), Sessions: sessions,
	})
	ok, err := d.fleet.Restore()
	switch {
	case err != nil:
		d.log.Error("fleet cache not used", "error", err)
	case ok:
		d.log.Info("fleet: enforcing the cached revision until etcd answers", "revision", d.fleet.Status().Revision)
	default:
		d.log.Info("fleet: no revision yet; the local policy directory is the bootstrap policy", "dir", d.cfg.PolicyDir)
	}
	return nil
}

// runFleet starts the agent; it ends with ctx. A policy in force that
// keeps this host from etcd (a bootstrap policy without the rule, say) is
// logged: no revision could reach the host to fix it.
func (d *Daemon) runFleet(ctx context.Context) {
	if d.fleet == nil {
		return
	}
	if res := d.Policy(); res != nil {
		if err := d.controlPlaneAllowed(res.Policy); err != nil {
			d.log.Error("the policy in force blocks the fleet's control plane: no revision can reach this host", "error", err)
		}
	}
	go d.fleet.Run(ctx)
}

// localInventory is the inventory file, if any, that registered hosts
// are added to.
func (d *Daemon) localInventory() (*rules.Inventory, error) {
	if d.cfg.Inventory == "" {
		return nil, nil
	}
	inv, err := rules.LoadInventory(d.cfg.Inventory)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return inv, err
}

// FleetStatus is the agent's status, or nil outside fleet mode.
func (d *Daemon) FleetStatus() *fleet.Status {
	if d.fleet == nil {
		return nil
	}
	st := d.fleet.Status()
	return &st
}

// fleetTarget is septad as the agent's Target.
type fleetTarget struct{ d *Daemon }

// Apply applies a fleet revision (or the same revision with a changed
// inventory, as set updates) like a reload, after checking that it lets
// this host reach etcd.
func (t fleetTarget) Apply(res *rules.Result, rev uint64, trigger string) error {
	d := t.d
	if err := d.controlPlaneAllowed(res.Policy); err != nil {
		d.recordReload(trigger, ReloadStatus{Generation: d.Last().Generation, Error: err.Error()})
		return err
	}
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	return d.applyResultLocked(res, trigger)
}

// Sessions replaces the identity map's fleet mappings: who is logged in
// on the other hosts, at their addresses.
func (t fleetTarget) Sessions(ss []fleet.RemoteSession) {
	ms := make([]userid.Mapping, 0, len(ss))
	for _, s := range ss {
		ms = append(ms, userid.Mapping{Addr: s.Addr, User: s.User, Groups: s.Groups, Source: "fleet"})
	}
	t.d.idmap.ReplaceSource("fleet", ms)
	t.d.identityChange()
}

// controlPlaneAllowed refuses a policy under which this host could not
// reach etcd any more: a fleet revision that cut the fleet off could
// never be replaced by the next one. It evaluates a TCP connection from
// each of the host's addresses to each endpoint with the inspector's
// own evaluator of the policy; it must be allowed in the kernel.
func (d *Daemon) controlPlaneAllowed(p *ir.Policy) error {
	srcs, err := fleet.LocalAddrs()
	if err != nil {
		return err
	}
	return checkControlPlane(p, d.cfg.Fleet.Endpoints, srcs)
}

// checkControlPlane checks that p lets connections from each source
// address reach each endpoint.
func checkControlPlane(p *ir.Policy, endpoints []string, srcs []netip.Addr) error {
	pol := inspect.NewPolicy(p, 0)
	for _, e := range endpoints {
		dsts, port, err := endpointAddrs(e)
		if err != nil {
			return fmt.Errorf("fleet: control plane %s: %w", e, err)
		}
		for _, dst := range dsts {
			for _, src := range srcs {
				if src.Is4() != dst.Is4() {
					continue
				}
				dec := pol.Decide(&inspect.Facts{Src: src, Dst: dst, Proto: 6, DstPort: port, Hook: inspect.HookOutput, Now: time.Now()})
				if dec.Need != inspect.NeedNothing || (dec.Action != ir.ActionAllow && !dec.Observe) {
					return fmt.Errorf("fleet: the policy does not allow this host to reach etcd at %s from %s (allow tcp/%d out to it in the kernel): refused", netip.AddrPortFrom(dst, port), src, port)
				}
			}
		}
	}
	return nil
}

// endpointAddrs resolves an endpoint URL to its addresses and port.
func endpointAddrs(endpoint string) ([]netip.Addr, uint16, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, 0, err
	}
	host, portStr := u.Hostname(), u.Port()
	if portStr == "" {
		portStr = "2379"
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, 0, fmt.Errorf("port %q", portStr)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, uint16(port), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, 0, err
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips, uint16(port), nil
}

// PolicyDiff is a line diff of two policy dumps ("-" old, "+" new), as
// septa apply --dry-run shows; septa fleet diff uses it.
func PolicyDiff(old, next string) string { return lineDiff(old, next) }
