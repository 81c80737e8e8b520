package daemon

import (
	"testing"
	"time"

	"github.com/septa-fw/septa/inspect/userid"
)

// FuzzConfig: any septad.toml either fails with an error or gives a
// configuration that validates, with every default filled in.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("policy_dir = \"/etc/septa/policy.d\"\non_stop = \"remove\"\n[kernel]\nqueues = 2\nmark_mask = \"0x00fff000\"\n"))
	f.Add([]byte("[inspect]\nmax_flows = 1000\ndepth = 2048\n[identity]\nttl = \"1h\"\n"))
	f.Add([]byte("[events]\neve = \"/var/log/septa/eve.json\"\njournald = false\n"))
	f.Add([]byte("on_stop = \"maybe\"\n"))
	f.Add([]byte("[kernel]\nqueues = 65\n"))
	f.Add([]byte("unknown = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("septad.toml", data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted a configuration that does not validate: %v", err)
		}
		if c.OnStop == "" || c.Identity.TTL == 0 {
			t.Fatalf("defaults not filled in: %+v", c)
		}
	})
}

// FuzzIdentityFile: an identity map file either fails with an error or
// gives mappings with valid addresses and a user each.
func FuzzIdentityFile(f *testing.F) {
	f.Add([]byte("[[mappings]]\naddr = \"10.4.0.11\"\nuser = \"alice\"\ngroups = [\"finance\"]\n"))
	f.Add([]byte("[[mappings]]\naddr = \"fd00:4::11\"\nuser = \"bob\"\n"))
	f.Add([]byte("[[mappings]]\naddr = \"10.4.0\"\nuser = \"alice\"\n"))
	f.Add([]byte("[[mappings]]\naddr = \"10.4.0.11\"\n"))
	f.Add([]byte("[[mapping]]\n"))
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := parseIdentityFile("identity.toml", data, now)
		if err != nil {
			return
		}
		for _, m := range ms {
			if !m.Addr.IsValid() || m.User == "" || m.Source != "file" {
				t.Fatalf("accepted mapping %+v", m)
			}
		}
	})
}

// FuzzFeedLine: any line of the identity feed is applied or refused with
// an error; a login that is applied can be looked up, and its logout
// removes it.
func FuzzFeedLine(f *testing.F) {
	f.Add([]byte(`{"event":"login","addr":"10.4.0.11","user":"alice","groups":["finance"],"ttl":3600}`))
	f.Add([]byte(`{"event":"logout","addr":"10.4.0.11","user":"alice"}`))
	f.Add([]byte(`{"event":"login","addr":"fd00:4::12","user":"bob"}`))
	f.Add([]byte(`{"event":"login","addr":"not an address","user":"bob"}`))
	f.Add([]byte(`{"event":"reboot"}`))
	f.Add([]byte(`{"event":"login"} trailing`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, line []byte) {
		d := &Daemon{idmap: userid.NewMap(nil)}
		d.cfg.Identity.TTL = Duration(time.Hour)
		if err := d.applyFeedLine(line); err != nil {
			return
		}
		for _, m := range d.idmap.List() {
			if !m.Addr.IsValid() || m.User == "" {
				t.Fatalf("feed line %q made mapping %+v", line, m)
			}
			if d.idmap.Lookup(m.Addr) == nil {
				t.Fatalf("mapping %+v cannot be looked up", m)
			}
		}
	})
}
