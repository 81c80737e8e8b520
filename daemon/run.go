package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	sdaemon "github.com/coreos/go-systemd/v22/daemon"
)

// debounce is how long the policy directory must stay quiet after a
// change before septad reloads: editors write files in several steps.
const debounce = 500 * time.Millisecond

// Run starts the daemon and serves until ctx ends or SIGTERM/SIGINT
// arrives; SIGHUP reloads. It tells systemd READY once the policy is
// applied and the inspector runs, RELOADING and READY around each reload,
// and STOPPING on the way out; it pings the watchdog while healthy.
func (d *Daemon) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	// One septad per host: the lock comes before anything touches the
	// kernel, so a second instance started by mistake changes nothing.
	unlock, err := lockInstance(d.cfg.Control.Socket + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	ln, err := listenControl(d.cfg.Control.Socket, d.cfg.Control.Group)
	if err != nil {
		return err
	}
	if err := d.Start(ctx); err != nil {
		ln.Close()
		d.Stop()
		return err
	}
	if groupMissing(d.cfg.Control.Group) {
		d.log.Warn("control socket group not found: only root may use the socket", "group", d.cfg.Control.Group)
	}
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("control API stopped", "error", err)
		}
	}()
	defer os.Remove(d.cfg.Control.Socket)

	if err := d.serveMetrics(ctx); err != nil {
		d.log.Error("metrics", "error", err)
	}
	if err := d.loadIdentityFile(); err != nil {
		d.log.Error("identity map", "error", err)
	}
	go d.identityLoop(ctx)
	d.runFleet(ctx)
	if d.cfg.Identity.Feed != "" {
		go d.followFeed(ctx, 500*time.Millisecond, d.identityChange)
	}
	changes := make(chan struct{}, 1)
	if *d.cfg.WatchPolicy {
		if err := watchPaths(ctx, []string{d.cfg.PolicyDir, d.cfg.Inventory}, changes); err != nil {
			d.log.Warn("not watching the policy for changes", "error", err)
		}
	}

	notify(sdaemon.SdNotifyReady)
	d.log.Info("septad ready", "generation", d.Last().Generation, "socket", d.cfg.Control.Socket)
	var watchdog <-chan time.Time
	if interval, err := sdaemon.SdWatchdogEnabled(false); err == nil && interval > 0 {
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		watchdog = t.C
	}
	var debounceTimer *time.Timer
	var debounced <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return d.shutdown(srv, cancel)
		case s := <-sigs:
			if s == syscall.SIGHUP {
				// Reopen the EVE file too, for logrotate.
				if err := d.bus.Reopen(); err != nil {
					d.log.Error("reopen event sinks", "error", err)
				}
				d.reloadNotified("SIGHUP")
				continue
			}
			d.log.Info("stopping", "signal", s.String())
			return d.shutdown(srv, cancel)
		case <-changes:
			if debounceTimer == nil {
				debounceTimer = time.NewTimer(debounce)
			} else {
				debounceTimer.Reset(debounce)
			}
			debounced = debounceTimer.C
		case <-debounced:
			debounced = nil
			d.reloadNotified("file change")
		case <-watchdog:
			if d.healthy() {
				notify(sdaemon.SdNotifyWatchdog)
			}
		}
	}
}

func (d *Daemon) reloadNotified(trigger string) {
	notify(sdaemon.SdNotifyReloading)
	if _, err := d.Reload(trigger); err != nil {
		d.log.Error("reload failed", "trigger", trigger, "error", err)
	}
	notify(sdaemon.SdNotifyReady)
}

// healthy: the kernel still holds septa's table.
func (d *Daemon) healthy() bool {
	_, ok, err := d.fw.Generation()
	return err == nil && ok
}

// shutdown stops the API, then the inspector (cancel ends the queues'
// receive loops before their sockets close), then keeps or removes the
// table.
func (d *Daemon) shutdown(srv *http.Server, cancel context.CancelFunc) error {
	notify(sdaemon.SdNotifyStopping)
	d.drain(time.Second)
	cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	return d.Stop()
}

// drain lets the inspector finish what the kernel has queued before the
// queues are unbound (packets still queued then are dropped, KERNEL.md):
// flows holding packets are decided with what is known, and the loop
// waits, at most for limit, until the kernel's queues are empty.
func (d *Daemon) drain(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		for _, w := range d.workers {
			w.DecideHeld()
		}
		waiting := uint64(0)
		for _, q := range readKernelQueues(nfqueueProc) {
			waiting += q.Depth
		}
		if waiting == 0 || time.Now().After(deadline) {
			if waiting > 0 {
				d.log.Warn("stopping with packets still queued", "packets", waiting)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// notify tells systemd, when it listens (NOTIFY_SOCKET).
func notify(state string) {
	_, _ = sdaemon.SdNotify(false, state)
}

// lockInstance takes an exclusive lock on path, or fails at once if
// another process holds it.
func lockInstance(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another septad is running (lock %s held): %w", path, err)
	}
	return func() { f.Close() }, nil
}

// errNoWatch is returned where the platform has no file watching.
var errNoWatch = fmt.Errorf("file watching is not supported here")
