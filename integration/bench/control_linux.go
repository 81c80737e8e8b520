//go:build linux

package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/septa-fw/septa/integration/benchkit"
	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules/ir"
)

func (h *harness) applyMetric() string {
	return fmt.Sprintf("apply %d rules, %d elements into an empty namespace", h.o.controlRules, h.o.controlSets*h.o.controlPerSet)
}

// controlHost builds a lab of one host and opens septa's firewall in it.
func controlHost() (*lab.Lab, *lab.Host, *nft.Firewall, func(), error) {
	l, err := lab.Build(lab.DefaultHosts()[4]) // prod-db alone
	if err != nil {
		return nil, nil, nil, nil, err
	}
	host := l.Host("prod-db")
	ns, err := host.OpenNS()
	if err != nil {
		l.Close()
		return nil, nil, nil, nil, err
	}
	fw, err := nft.Open(int(ns.Fd()), nft.Config{})
	if err != nil {
		ns.Close()
		l.Close()
		return nil, nil, nil, nil, err
	}
	return l, host, fw, func() { fw.Close(); ns.Close(); l.Close() }, nil
}

// applyBoth times, in one round, septa applying plan into an empty
// namespace and `nft -f` loading the same ruleset as text, in the order
// the round gives, and records both under section and metric.
func (h *harness) applyBoth(round int, section, metric string, host *lab.Host, fw *nft.Firewall, plan *nft.Plan, text string) error {
	path := filepath.Join(h.dir, "ruleset.nft")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return err
	}
	steps := []struct {
		config string
		run    func() error
	}{
		{"septa", func() error { _, err := fw.ApplyPlan(plan); return err }},
		{"nft -f", func() error { return runIn(host, 5*time.Minute, "nft", "-f", path) }},
	}
	var errs []error
	for i := range steps {
		s := steps[(i+round)%len(steps)]
		if err := fw.Flush(); err != nil {
			return err
		}
		start := time.Now()
		if err := s.run(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.config, err))
			continue
		}
		h.rep.Add(section, metric, s.config, "s", round, time.Since(start).Seconds())
	}
	return errors.Join(append(errs, fw.Flush())...)
}

// control is section 5: applying a big policy with septa against nft -f
// of the same ruleset, and updating set elements.
func (h *harness) control() error {
	_, host, fw, done, err := controlHost()
	if err != nil {
		return err
	}
	defer done()
	// No queue rules (the policy has none), so that nft can load the text.
	plan, err := nft.PlanPolicy(benchkit.BigPolicy(h.o.controlRules, h.o.controlSets, h.o.controlPerSet), nft.Config{}, 1, nft.Caps{MetaTime: true})
	if err != nil {
		return err
	}
	text := benchkit.NFTText(plan)
	var errs []error
	for round := range h.o.rounds {
		if h.stop() {
			return errors.New("interrupted")
		}
		fmt.Printf("bench: round %d/%d: apply %d rules\n", round+1, h.o.rounds, h.o.controlRules)
		if err := h.applyBoth(round, "control", h.applyMetric(), host, fw, plan, text); err != nil {
			errs = append(errs, err)
		}
	}
	// Updating a group's set: add N addresses, then remove them.
	group := &ir.Policy{
		Settings: ir.Settings{Default: ir.ActionDeny, Mode: ir.ModeEnforce, FailMode: ir.FailClosed, Log: ir.LogNone},
		Sets:     []ir.Set{{Name: "group:g", Kind: ir.SetGroup}},
		Rules: []ir.Rule{{ID: "g", Section: ir.SectionApplication, Action: ir.ActionAllow, Dir: ir.DirIn,
			From: ir.Endpoint{Sets: []string{"group:g"}}, To: ir.Endpoint{Self: true},
			Ports: []ir.Port{{Proto: ir.ProtoTCP, First: 5432, Last: 5432}}, Origin: ir.Origin{File: "bench", Line: 1}}},
	}
	if _, err := fw.Apply(group, 1); err != nil {
		return errors.Join(append(errs, err)...)
	}
	var add []netip.Prefix
	for i := range h.o.updateElements {
		add = append(add, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(16 + i>>15), byte(i >> 7), byte(i << 1)}), 32))
	}
	metric := fmt.Sprintf("update a set: add %d addresses, then remove them", h.o.updateElements)
	for round := range h.o.rounds {
		start := time.Now()
		if err := fw.UpdateSet("group:g", add, nil); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := fw.UpdateSet("group:g", nil, add); err != nil {
			errs = append(errs, err)
			continue
		}
		h.rep.Add("control", metric, "septa", "ms", round, float64(time.Since(start).Microseconds())/1000)
	}
	return errors.Join(append(errs, fw.Flush())...)
}
