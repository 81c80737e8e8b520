//go:build linux

package main

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/nft"
)

func TestQueueRuleset(t *testing.T) {
	for _, q := range []nft.QueueKind{nft.QueueCompat, nft.QueueNative} {
		t.Run(q.String(), func(t *testing.T) {
			p := queueRuleset(nft.Caps{Queue: q})
			if err := p.Validate(); err != nil {
				t.Fatalf("the IPS ruleset does not validate: %v", err)
			}
			want := "table inet benchsuricata # generation 1 caps queue=" + q.String() + " meta-time=no\n" +
				"chain ips_in { type filter hook input priority 10; policy accept; }\n" +
				"  ct mark & 0x00000001 == 0x00000001 counter accept comment \"bypassed\"\n" +
				"  counter " + nft.Queue{Kind: q, Num: 0, Total: 1}.String() + " comment \"ips\"\n" +
				"chain ips_out { type filter hook output priority 10; policy accept; }\n" +
				"  ct mark & 0x00000001 == 0x00000001 counter accept comment \"bypassed\"\n" +
				"  counter " + nft.Queue{Kind: q, Num: 0, Total: 1}.String() + " comment \"ips\"\n" +
				"chain bypass_in { type filter hook input priority 20; policy accept; }\n" +
				"  meta mark & 0x00000001 == 0x00000001 ct mark set ct mark & 0xfffffffe | 0x00000001 comment \"bypass\"\n" +
				"chain bypass_out { type filter hook output priority 20; policy accept; }\n" +
				"  meta mark & 0x00000001 == 0x00000001 ct mark set ct mark & 0xfffffffe | 0x00000001 comment \"bypass\"\n"
			if diff := cmp.Diff(want, p.Dump()); diff != "" {
				t.Errorf("IPS ruleset (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInlineConfig(t *testing.T) {
	path, err := inlineConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"\n  inline: yes\n  bypass: yes\n", "\nnfq:\n  mode: accept\n  bypass-mark: 0x1\n  bypass-mask: 0x1\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("inline config lacks %q", want)
		}
	}
	if strings.Contains(s, "inline: no") {
		t.Errorf("inline config still has inline: no")
	}
}
