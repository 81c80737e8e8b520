//go:build linux

// Command demo is `make demo`: it builds a lab of network namespaces (dev,
// test, prod web/app/db, VDI desktops of a finance and an HR user, an
// admin host and an attacker), starts septad on the servers with the
// demo's policy, generates real traffic, and shows with septa itself what
// the policy does; then it tears the lab down. It needs root.
//
//	make demo            (builds bin/septa and bin/septad first)
//	go run ./integration/demo -bin bin
package main

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/septa-fw/septa/integration/lab"
	"golang.org/x/crypto/ssh"
)

//go:embed policy/*.toml policy/web.rules inventory.toml
var files embed.FS

func main() {
	bin := flag.String("bin", "bin", "directory with septa and septad")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: needs root (network namespaces and nftables)")
		os.Exit(2)
	}
	d := &demo{bin: *bin}
	err := d.run()
	d.close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	fmt.Println("\n== done: the lab is torn down")
}

type demo struct {
	bin     string
	dir     string
	lab     *lab.Lab
	daemons []*exec.Cmd
	closers []func()
}

func (d *demo) close() {
	for _, c := range d.daemons {
		c.Process.Signal(os.Interrupt)
	}
	for _, c := range d.daemons {
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.Process.Kill()
		}
	}
	for _, f := range d.closers {
		f()
	}
	if d.lab != nil {
		d.lab.Close()
	}
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}

func step(format string, args ...any) { fmt.Printf("\n== "+format+"\n", args...) }

func (d *demo) run() error {
	var err error
	if d.dir, err = os.MkdirTemp("", "septa-demo-"); err != nil {
		return err
	}
	step("building the lab: %d hosts in network namespaces on one bridge", len(lab.DefaultHosts()))
	if d.lab, err = lab.Build(lab.DefaultHosts()...); err != nil {
		return err
	}
	for _, h := range d.lab.Hosts() {
		fmt.Printf("   %-12s %-9s %s\n", h.Name, h.Zone, h.V4)
	}
	web, app, db := d.lab.Host("prod-web"), d.lab.Host("prod-app"), d.lab.Host("prod-db")
	if err := d.serveHTTP(web, 80); err != nil {
		return err
	}
	if err := d.serveSSH(web, 22); err != nil {
		return err
	}
	if err := d.serveHTTP(app, 8080); err != nil {
		return err
	}
	if err := d.serveSSH(db, 5432); err != nil {
		return err
	}

	step("starting septad on prod-web, prod-app and prod-db with the demo policy")
	for _, h := range []*lab.Host{web, app, db} {
		if err := d.startSeptad(h); err != nil {
			return err
		}
	}
	d.septa(web, "status")

	step("zone isolation: dev and the attacker do not reach prod; test reaches the web tier over HTTP only; only admin reaches SSH")
	for _, c := range []struct {
		from *lab.Host
		port uint16
	}{{d.lab.Host("dev-1"), 80}, {d.lab.Host("test-1"), 80}, {d.lab.Host("test-1"), 22}, {d.lab.Host("attacker"), 80}, {d.lab.Host("admin"), 22}} {
		out, _ := c.from.Connect(netip.AddrPortFrom(web.V4, c.port), time.Second)
		fmt.Printf("   %-12s -> prod-web:%-4d %s\n", c.from.Name, c.port, out)
	}

	step("users: finance users reach the shop from their desktops, HR users do not")
	fin, hr := d.lab.Host("vdi-finance"), d.lab.Host("vdi-hr")
	d.septa(web, "identity", "add", fin.V4.String(), "alice", "--groups", "finance")
	d.septa(web, "identity", "add", hr.V4.String(), "bob", "--groups", "hr")
	d.septa(web, "identity")
	time.Sleep(500 * time.Millisecond) // the identity sets are written right after
	for _, h := range []*lab.Host{fin, hr} {
		fmt.Printf("   %-12s GET http://prod-web/ -> %s\n", h.Name, d.get(h, fmt.Sprintf("http://%s/", web.V4)))
	}

	step("application identity: the app tier speaks HTTP to prod-app:8080 (allowed); an SSH server answering on prod-db:5432, where only PostgreSQL is allowed, is denied")
	fmt.Printf("   prod-web     GET http://prod-app:8080/ -> %s\n", d.get(web, fmt.Sprintf("http://%s:8080/", app.V4)))
	fmt.Printf("   prod-app     SSH to prod-db:5432      -> %s\n", d.sshTo(app, netip.AddrPortFrom(db.V4, 5432)))

	step("IPS: inside the allowed HTTP flow from test, a request matching a drop signature is blocked before it reaches the server, and its source quarantined")
	tester := d.lab.Host("test-1")
	fmt.Printf("   test-1       GET /index.html                 -> %s\n", d.get(tester, fmt.Sprintf("http://%s/index.html", web.V4)))
	fmt.Printf("   test-1       GET /cgi-bin/run?cmd=/bin/sh    -> %s\n", d.get(tester, fmt.Sprintf("http://%s/cgi-bin/run?cmd=/bin/sh", web.V4)))

	time.Sleep(300 * time.Millisecond) // the quarantine is applied right after the block
	d.septa(web, "quarantine")
	out, _ := tester.Connect(netip.AddrPortFrom(web.V4, 80), time.Second)
	fmt.Printf("   test-1       -> prod-web:80 again           -> %s (quarantined: the kernel drops it)\n", out)

	step("the flows septa decided in its inspector, with app, user, zones and deciding rule")
	for _, h := range []*lab.Host{web, app, db} {
		fmt.Printf("-- %s\n", h.Name)
		d.septa(h, "flows")
	}
	step("the busiest rules on prod-web, from the kernel's counters")
	d.septa(web, "top", "--limit", "8")
	step("the signature alerts on prod-web")
	time.Sleep(200 * time.Millisecond)
	d.septa(web, "alerts")
	return nil
}

func (d *demo) socket(h *lab.Host) string { return filepath.Join(d.dir, h.Name, "septad.sock") }

func (d *demo) startSeptad(h *lab.Host) error {
	dir := filepath.Join(d.dir, h.Name)
	if err := os.MkdirAll(filepath.Join(dir, "policy.d"), 0o755); err != nil {
		return err
	}
	for src, dst := range map[string]string{"policy/10-demo.toml": "policy.d/10-demo.toml", "policy/web.rules": "policy.d/web.rules", "inventory.toml": "inventory.toml"} {
		b, err := files.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			return err
		}
	}
	cfg := fmt.Sprintf("policy_dir = %q\ninventory = %q\nstate_dir = %q\non_stop = \"remove\"\n[control]\nsocket = %q\n[events]\njournald = false\neve = %q\n",
		filepath.Join(dir, "policy.d"), filepath.Join(dir, "inventory.toml"), filepath.Join(dir, "state"), d.socket(h), filepath.Join(dir, "eve.json"))
	if err := os.WriteFile(filepath.Join(dir, "septad.toml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(dir, "septad.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command("ip", "netns", "exec", h.NS, filepath.Join(d.bin, "septad"), "-config", filepath.Join(dir, "septad.toml"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	d.daemons = append(d.daemons, cmd)
	for range 150 {
		if exec.Command(filepath.Join(d.bin, "septa"), "status", "--socket", d.socket(h)).Run() == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(logf.Name())
	return fmt.Errorf("septad on %s did not start:\n%s", h.Name, b)
}

// septa runs the CLI against h's septad and prints its output, indented.
func (d *demo) septa(h *lab.Host, args ...string) {
	fmt.Printf("   $ septa %s\n", strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(d.bin, "septa"), append(args, "--socket", d.socket(h))...).CombinedOutput()
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		fmt.Println("     " + line)
	}
	if err != nil {
		fmt.Printf("     (%v)\n", err)
	}
}

func (d *demo) serveHTTP(h *lab.Host, port uint16) error {
	ln, err := h.ListenTCP(port)
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", h.Name)
	})}
	go srv.Serve(ln)
	d.closers = append(d.closers, func() { srv.Close() })
	return nil
}

func (d *demo) get(h *lab.Host, url string) string {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return h.DialTCP(netip.MustParseAddrPort(addr), 3*time.Second)
		},
	}}
	resp, err := c.Get(url)
	if err != nil {
		return "failed: " + shortErr(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return resp.Status + ": " + strings.TrimSpace(string(b))
}

func (d *demo) serveSSH(h *lab.Host, port uint16) error {
	stop, err := h.ServeSSH(port)
	if err != nil {
		return err
	}
	d.closers = append(d.closers, stop)
	return nil
}

func (d *demo) sshTo(h *lab.Host, dst netip.AddrPort) string {
	c, err := h.DialTCP(dst, 3*time.Second)
	if err != nil {
		return "failed: " + shortErr(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	_, _, _, err = ssh.NewClientConn(c, dst.String(), &ssh.ClientConfig{User: "demo", HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		return "failed: " + shortErr(err)
	}
	return "SSH session established"
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
