package daemon

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// kernelQueue is what the kernel reports of one NFQUEUE in
// /proc/net/netfilter/nfnetlink_queue (net/netfilter/nfnetlink_queue.c,
// seq_show): packets waiting, and packets dropped because the queue was
// full (queue_dropped) or the socket could not take them (user_dropped).
type kernelQueue struct {
	Depth, Dropped, UserDropped uint64
}

const nfqueueProc = "/proc/net/netfilter/nfnetlink_queue"

// readKernelQueues reads the kernel's queue table of this network
// namespace, by queue number; missing or unreadable gives none.
func readKernelQueues(path string) map[uint16]kernelQueue {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[uint16]kernelQueue{}
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan() && n < 65536; n++ {
		// queue_number peer_portid queue_total copy_mode copy_range
		// queue_dropped user_dropped id_sequence 1
		fs := strings.Fields(sc.Text())
		if len(fs) < 7 {
			continue
		}
		num, err := strconv.ParseUint(fs[0], 10, 16)
		if err != nil {
			continue
		}
		depth, _ := strconv.ParseUint(fs[2], 10, 64)
		dropped, _ := strconv.ParseUint(fs[5], 10, 64)
		user, _ := strconv.ParseUint(fs[6], 10, 64)
		out[uint16(num)] = kernelQueue{Depth: depth, Dropped: dropped, UserDropped: user}
	}
	return out
}
