//go:build !linux

package daemon

import "context"

func watchPaths(context.Context, []string, chan<- struct{}) error { return errNoWatch }
