//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/septa-fw/septa/integration/benchkit"
	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/nft"
)

// queueFW is a configuration of the plain ruleset, a table of queue
// rules, and the process in the server's namespace that serves the
// queue: Suricata inline, or the NFQUEUE round trip's listener.
type queueFW struct {
	what     string        // the process, in errors
	stopWait time.Duration // how long it may take to stop on SIGTERM
	plain    nftFW
	fw       *nft.Firewall
	ns       *os.File
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	dir      string
	out      *lockedBuffer
}

func (*queueFW) septad() *benchkit.Septad { return nil }

// open makes the configuration's directory, loads the plain ruleset and
// applies the queue rules that plan lays out for the kernel's queue kind.
func (q *queueFW) open(h *harness, web *lab.Host, table string, plan func(nft.Caps) *nft.Plan) (err error) {
	q.out, q.done = &lockedBuffer{}, make(chan struct{})
	if q.dir, err = os.MkdirTemp(h.dir, table+"-"); err != nil {
		return err
	}
	if q.plain, err = loadPlain(web, q.dir); err != nil {
		return err
	}
	if q.ns, err = web.OpenNS(); err != nil {
		return err
	}
	if q.fw, err = nft.Open(int(q.ns.Fd()), nft.Config{Table: table}); err != nil {
		return err
	}
	caps, err := q.fw.Probe()
	if err != nil {
		return err
	}
	_, err = q.fw.ApplyPlan(plan(caps))
	return err
}

// start runs name with args in web's namespace.
func (q *queueFW) start(web *lab.Host, name string, args ...string) error {
	q.cmd = exec.Command("ip", append([]string{"netns", "exec", web.NS, name}, args...)...)
	q.cmd.Stdout, q.cmd.Stderr = q.out, q.out
	if err := q.cmd.Start(); err != nil {
		q.cmd = nil
		return err
	}
	go func() {
		q.cmd.Wait()
		close(q.done)
	}()
	return nil
}

// exited returns an error with the process's output if it has exited.
func (q *queueFW) exited(when string) error {
	select {
	case <-q.done:
		return fmt.Errorf("%s exited %s: %.2000s", q.what, when, q.out.String())
	default:
		return nil
	}
}

// close stops the process, then removes the queue rules, the plain
// ruleset and the directory.
func (q *queueFW) close() error {
	var errs []error
	if q.cmd != nil {
		if err := q.exited("early"); err != nil {
			errs = append(errs, err)
		} else {
			q.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-q.done:
			case <-time.After(q.stopWait):
				q.cmd.Process.Kill()
				<-q.done
				errs = append(errs, fmt.Errorf("%s did not stop on SIGTERM within %s", q.what, q.stopWait))
			}
		}
	}
	if q.fw != nil {
		errs = append(errs, q.fw.Flush())
		q.fw.Close()
	}
	if q.ns != nil {
		q.ns.Close()
	}
	if q.plain.host != nil {
		errs = append(errs, q.plain.close())
	}
	if q.dir != "" {
		errs = append(errs, os.RemoveAll(q.dir))
	}
	return errors.Join(errs...)
}
