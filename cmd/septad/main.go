// Command septad is septa's daemon: it enforces the policy on this host's
// own traffic. See `septad --help` and the septad.toml reference in the
// packaging.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/septa-fw/septa/daemon"
	// The compiled-in IDS plugins.
	_ "github.com/septa-fw/septa/inspect/ids/sig"
	"github.com/septa-fw/septa/version"
)

func main() {
	configPath := flag.String("config", daemon.DefaultConfigPath, "configuration file")
	showVersion := flag.Bool("version", false, "print the version and exit")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file until septad stops (for performance work)")
	flag.Parse()
	if *showVersion {
		fmt.Println("septad", version.String())
		return
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "septad: -log-level:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("component", "septad")
	cfg, err := daemon.LoadConfig(*configPath)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Error("cpuprofile", "error", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Error("cpuprofile", "error", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := daemon.New(cfg, log).Run(context.Background()); err != nil {
		pprof.StopCPUProfile()
		log.Error("septad failed", "error", err)
		os.Exit(1)
	}
}
