package sig

import (
	"strings"
	"testing"

	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/ids"
)

// TestTLSCertsOnDemand: the chain is parsed into the flow state (once:
// TLSDone stops the search), and only when a signature asks for it.
func TestTLSCertsOnDemand(t *testing.T) {
	_, input, _ := readCase(t, "../testdata/tls-cert")
	for _, tt := range []struct {
		name, rules string
		parsed      bool
	}{
		{name: "certificate rule", rules: `alert tls any any -> any any (msg:"t"; tls.cert_subject; content:"CN=nothing.example"; sid:1;)`, parsed: true},
		{name: "legacy keyword", rules: `alert tls any any -> any any (msg:"t"; tls.issuerdn:"CN=nobody"; sid:1;)`, parsed: true},
		{name: "no certificate rule", rules: `alert tls any any -> any any (msg:"t"; tls.sni; content:"nothing.example"; sid:1;)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := &LoadResult{}
			if err := Load("t.rules", strings.NewReader(tt.rules), LoadOptions{}, res); err != nil || len(res.Errors) > 0 {
				t.Fatal(err, res.Errors)
			}
			e, err := Build(res.Sigs)
			if err != nil {
				t.Fatal(err)
			}
			var first *appid.TLSCerts
			_, flows := replay(e, input)
			if len(flows) != 1 {
				t.Fatalf("%d flows", len(flows))
			}
			for _, f := range flows {
				first = f.state.TLS
				if !f.state.TLSDone && tt.parsed {
					t.Error("the engine is still looking for the chain")
				}
				if !tt.parsed && (f.state.TLS != nil || f.state.TLSDone) {
					t.Error("chain looked for without a rule asking for it")
				}
			}
			if !tt.parsed {
				return
			}
			if first == nil || string(first.Subject) != "C=US, ST=Oregon, O=Septa Test, OU=Edge, CN=shop.example" {
				t.Fatalf("chain not parsed: %+v", first)
			}
		})
	}
}

// TestTLSCertsNoAllocs: once a flow's chain is parsed, inspecting its
// packets with the certificate signatures allocates nothing.
func TestTLSCertsNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (make test checks them without it)")
	}
	rules, input, _ := readCase(t, "../testdata/tls-cert")
	res := &LoadResult{}
	if err := Load("test.rules", strings.NewReader(rules), LoadOptions{}, res); err != nil || len(res.Errors) > 0 {
		t.Fatal(err, res.Errors)
	}
	e, err := Build(res.Sigs)
	if err != nil {
		t.Fatal(err)
	}
	_, flows := replay(e, input)
	var last *testPacket
	for i := range input {
		if input[i].pkt.SrcPort == 443 && len(input[i].payload) > 0 {
			last = &input[i]
		}
	}
	for key, f := range flows {
		if f.state.TLS == nil {
			t.Fatal("chain not parsed")
		}
		in := &ids.Input{Packet: &last.pkt, Key: key, Dir: ids.ToClient, Established: true, App: f.app, Info: &f.info,
			Stream: [2][]byte{f.contiguous(0), f.contiguous(1)}, Flow: &f.state}
		sc := e.NewScratch()
		var r ids.Result
		e.Inspect(in, sc, &r)
		if n := testing.AllocsPerRun(100, func() { e.Inspect(in, sc, &r) }); n != 0 {
			t.Errorf("Inspect allocates %v times per packet", n)
		}
	}
}
