package nft

import (
	"errors"
	"fmt"
)

// Defaults of Config. The NFLOG groups are arbitrary but fixed, so that an
// operator's ulogd or tcpdump (nflog:N) setup keeps working across
// versions.
const (
	DefaultTable           = "septa"
	DefaultMarkMask        = 0x00fff000
	DefaultLogGroupDeny    = 1
	DefaultLogGroupObserve = 2
	DefaultLogGroupAllow   = 3
	// DefaultVerdictPriority is the priority of the verdict chains: after
	// the filter chains (priority 0, "filter"), so that a packet the
	// inspector accepts resumes there (KERNEL.md #2).
	DefaultVerdictPriority = 10
)

// Config says how the policy is laid out in the kernel. The zero value is
// usable: every zero field takes its default (see WithDefaults).
type Config struct {
	// Table is the name of the inet table septa owns; "septa" by default.
	// Tests use other names.
	Table string
	// MarkMask is the part of the conntrack mark (and of the packet mark,
	// for the inspector's verdicts) that septa owns: contiguous bits, at
	// least 3. Default 0x00fff000. See mark.go.
	MarkMask uint32
	// QueueBase and QueueCount are the NFQUEUE numbers used for flows that
	// need inspection: QueueBase .. QueueBase+QueueCount-1. QueueCount 0
	// means 1.
	QueueBase  uint16
	QueueCount uint16
	// QueueFanout spreads flows over the queues by the CPU that handled
	// the packet instead of by address hash (KERNEL.md: the hash ignores
	// ports, so all flows between two hosts land in one queue).
	QueueFanout bool
	// DisableBypass turns off the queue bypass flag for policies with
	// fail_mode open. Leave it false: with the flag, the kernel accepts
	// packets for a queue nobody listens to, which is what fail_mode open
	// means when the daemon is down.
	DisableBypass bool
	// NFLOG groups for denied, observed (would-be-denied) and logged
	// allowed traffic. 0 means the default (1, 2, 3).
	LogGroupDeny    uint16
	LogGroupObserve uint16
	LogGroupAllow   uint16
	// Priority is the priority of the filter chains (0, "filter", by
	// default) and VerdictPriority that of the verdict chains (10), which
	// must be higher.
	Priority        int32
	VerdictPriority int32
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.MarkMask == 0 {
		c.MarkMask = DefaultMarkMask
	}
	if c.QueueCount == 0 {
		c.QueueCount = 1
	}
	if c.LogGroupDeny == 0 {
		c.LogGroupDeny = DefaultLogGroupDeny
	}
	if c.LogGroupObserve == 0 {
		c.LogGroupObserve = DefaultLogGroupObserve
	}
	if c.LogGroupAllow == 0 {
		c.LogGroupAllow = DefaultLogGroupAllow
	}
	if c.VerdictPriority == 0 {
		c.VerdictPriority = c.Priority + DefaultVerdictPriority
	}
	return c
}

// Validate reports whether c (after WithDefaults) can be laid out.
func (c Config) Validate() error {
	var errs []error
	if c.Table == "" || len(c.Table) > maxNameLen {
		errs = append(errs, fmt.Errorf("table name must have 1 to %d bytes", maxNameLen))
	}
	if _, err := NewMarkLayout(c.MarkMask); err != nil {
		errs = append(errs, err)
	}
	if int(c.QueueBase)+int(c.QueueCount) > 1<<16 {
		errs = append(errs, fmt.Errorf("queues %d..%d past 65535", c.QueueBase, int(c.QueueBase)+int(c.QueueCount)-1))
	}
	if c.VerdictPriority <= c.Priority {
		errs = append(errs, fmt.Errorf("verdict priority %d must be above the filter priority %d", c.VerdictPriority, c.Priority))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nft: config: %w", err)
	}
	return nil
}
