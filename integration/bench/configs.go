package main

// The configurations of the server host.
const (
	cfgNoFW        = "no firewall"
	cfgNft         = "nftables (nft -f)"
	cfgSeptaKernel = "septa kernel-only rule"
	cfgSeptaAppID  = "septa app-ID rule"
	cfgSeptaIDS    = "septa IDS (prevent)"
	cfgSuricata    = "Suricata inline (NFQUEUE)"
	cfgFloor       = "NFQUEUE round trip alone"
)

// Ports of the server's workloads.
const (
	portIperf = 5201 // iperf3: kernel-only rule in every septa configuration
	portShort = 8080 // short connections: the rule under test
	portBulk  = 8081 // HTTP download: the rule under test
)

// configNames are the short names of the configurations (-configs), in
// the order a round starts with.
var configNames = []struct{ short, name string }{
	{"nofw", cfgNoFW},
	{"nft", cfgNft},
	{"kernel", cfgSeptaKernel},
	{"appid", cfgSeptaAppID},
	{"ids", cfgSeptaIDS},
	{"suricata", cfgSuricata},
	{"floor", cfgFloor},
}
