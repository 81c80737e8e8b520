// Package version holds the build's version, set by the linker:
//
//	go build -ldflags "-X github.com/septa-fw/septa/version.Version=1.2.3"
//
// It imports the standard library only.
package version

import "runtime/debug"

// Version is the release version; "dev" for a build from a work tree.
var Version = "dev"

// String returns the version with the VCS revision when the build has one.
func String() string {
	v := Version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}
