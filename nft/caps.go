package nft

import "strings"

// QueueKind is how the kernel sends packets to userspace.
type QueueKind int

const (
	QueueNone   QueueKind = iota // no NFQUEUE at all: inspection rules cannot be applied
	QueueNative                  // the nft queue expression (CONFIG_NFT_QUEUE)
	QueueCompat                  // the xtables NFQUEUE target through nft_compat (KERNEL.md #1)
)

func (k QueueKind) String() string {
	switch k {
	case QueueNative:
		return "native"
	case QueueCompat:
		return "xt-compat"
	}
	return "none"
}

// Caps is what the kernel supports, found by Firewall.Probe once at
// start and reported with every apply (septa status shows it).
type Caps struct {
	Queue QueueKind
	// MetaTime: the kernel has `meta time`, so rule expiry is enforced in
	// the kernel. Without it, expiring rules stay until the daemon
	// reapplies the policy without them.
	MetaTime bool
}

// String reads like "queue=xt-compat meta-time=yes".
func (c Caps) String() string {
	var b strings.Builder
	b.WriteString("queue=" + c.Queue.String())
	b.WriteString(" meta-time=")
	if c.MetaTime {
		b.WriteString("yes")
	} else {
		b.WriteString("no")
	}
	return b.String()
}
