package ir

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Dump returns a stable, line-oriented text form of the policy, used by
// golden tests and by `septa show`. Equal policies dump to equal text.
func (p *Policy) Dump() string {
	var b bytes.Buffer
	s := p.Settings
	b.WriteString("settings default=" + s.Default.String() + " mode=" + s.Mode.String() +
		" fail_mode=" + s.FailMode.String() + " log=" + s.Log.String() + "\n")
	for _, set := range p.Sets {
		b.WriteString("set " + set.Name + " origin=" + set.Origin.String())
		if set.Selector != "" {
			b.WriteString(" selector=" + strconv.Quote(set.Selector))
		}
		b.WriteString("\n")
		if len(set.Hosts) > 0 {
			b.WriteString("  hosts " + strings.Join(set.Hosts, " ") + "\n")
		}
		writePrefixes(&b, "  ", set.Prefixes)
	}
	for _, svc := range p.Services {
		b.WriteString("service " + svc.Name + " origin=" + svc.Origin.String())
		if svc.App != "" {
			b.WriteString(" app=" + svc.App)
		}
		b.WriteString("\n  ports " + joinPorts(svc.Ports) + "\n")
	}
	for _, r := range p.Rules {
		b.WriteString(r.Dump())
	}
	if p.IDS != nil {
		b.WriteString("ids\n")
		for _, f := range p.IDS.Files {
			b.WriteString("  file " + f + "\n")
		}
		for _, v := range p.IDS.AddressVars {
			neg := ""
			if v.Negated {
				neg = "!"
			}
			b.WriteString("  var " + v.Name + " " + neg + "[" + joinPrefixes(v.Prefixes) + "]\n")
		}
		for _, v := range p.IDS.PortVars {
			b.WriteString("  var " + v.Name + " " + v.Value + "\n")
		}
		for _, a := range p.IDS.Actions {
			b.WriteString("  action " + strconv.FormatUint(uint64(a.SID), 10) + " " + a.Action + "\n")
		}
		if len(p.IDS.Disabled) > 0 {
			ids := make([]string, len(p.IDS.Disabled))
			for i, sid := range p.IDS.Disabled {
				ids[i] = strconv.FormatUint(uint64(sid), 10)
			}
			b.WriteString("  disabled " + strings.Join(ids, " ") + "\n")
		}
	}
	return b.String()
}

// Dump returns the rule's lines of the policy dump.
func (r *Rule) Dump() string {
	var b bytes.Buffer
	b.WriteString("rule " + strconv.Itoa(r.Index) + " " + r.ID +
		" section=" + r.Section.String() + " dir=" + r.Dir.String() +
		" action=" + r.Action.String() + " needs=" + r.Needs.String() +
		" origin=" + r.Origin.String() + "\n")
	b.WriteString("  from " + r.From.String() + "\n")
	b.WriteString("  to " + r.To.String() + "\n")
	if len(r.Ports) > 0 {
		b.WriteString("  ports " + joinPorts(r.Ports) + "\n")
	}
	if !r.App.IsZero() {
		b.WriteString("  app " + r.App.Name)
		if len(r.App.SNI) > 0 {
			b.WriteString(" sni=" + strings.Join(r.App.SNI, ","))
		}
		if len(r.App.HTTPHost) > 0 {
			b.WriteString(" http_host=" + strings.Join(r.App.HTTPHost, ","))
		}
		b.WriteString("\n")
	}
	if len(r.Users) > 0 {
		b.WriteString("  users " + strings.Join(r.Users, " ") + "\n")
	}
	if len(r.Processes) > 0 {
		b.WriteString("  processes " + strings.Join(r.Processes, " ") + "\n")
	}
	var flags []string
	if r.IDS != IDSOff && r.IDS != IDSUnknown {
		flags = append(flags, "ids="+r.IDS.String())
	}
	if r.Log {
		flags = append(flags, "log")
	}
	if r.Observe {
		flags = append(flags, "observe")
	}
	if r.PassFirstPackets {
		flags = append(flags, "pass-first-packets")
	}
	if r.Quarantine > 0 {
		flags = append(flags, "quarantine="+r.Quarantine.String())
	}
	if !r.Expires.IsZero() {
		flags = append(flags, "expires="+r.Expires.UTC().Format(time.RFC3339))
	}
	if len(flags) > 0 {
		b.WriteString("  " + strings.Join(flags, " ") + "\n")
	}
	return b.String()
}

// String is the endpoint as the dump shows it.
func (e Endpoint) String() string {
	if e.Any {
		return "any"
	}
	var parts []string
	if e.Self {
		parts = append(parts, "self")
	}
	parts = append(parts, e.Sets...)
	for _, p := range e.Prefixes {
		parts = append(parts, p.String())
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

func joinPorts(ports []Port) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func writePrefixes(b *bytes.Buffer, indent string, ps []netip.Prefix) {
	for _, p := range ps {
		b.WriteString(indent + p.String() + "\n")
	}
}
