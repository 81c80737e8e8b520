//go:build !linux

package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Fprintf(os.Stderr, "bench: not supported on %s (network namespaces and nftables are Linux)\n", runtime.GOOS)
	os.Exit(2)
}
