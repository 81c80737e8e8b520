package benchkit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture septa runs on; proc(5)).
const userHZ = 100

// ProcCPU returns a process's user+system CPU time.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return ParseStatCPU(b)
}

// ParseStatCPU reads utime+stime from the contents of /proc/PID/stat.
// The command name (field 2) may hold spaces and parentheses, so the
// fields are counted from the last ')': utime and stime are fields 14
// and 15 of proc(5), the 12th and 13th after it.
func ParseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no command field")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the command, want at least 13", len(f))
	}
	ut, err := strconv.ParseUint(f[11], 10, 63)
	if err != nil {
		return 0, fmt.Errorf("proc stat: utime: %w", err)
	}
	st, err := strconv.ParseUint(f[12], 10, 63)
	if err != nil {
		return 0, fmt.Errorf("proc stat: stime: %w", err)
	}
	ticks := ut + st
	if ticks > uint64(1<<63-1)/uint64(time.Second) {
		return 0, errors.New("proc stat: CPU time out of range")
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// ProcRSS returns a process's resident set size and its peak (VmRSS and
// VmHWM of /proc/PID/status), in bytes.
func ProcRSS(pid int) (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	return ParseStatusRSS(b)
}

// ParseStatusRSS reads VmRSS and VmHWM (in kB) from the contents of
// /proc/PID/status and returns them in bytes.
func ParseStatusRSS(status []byte) (rss, peak int64, err error) {
	var haveRSS, havePeak bool
	for _, line := range strings.Split(string(status), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(val), " ")
		kb, perr := strconv.ParseInt(num, 10, 64)
		if perr != nil || unit != "kB" || kb < 0 || kb > 1<<40 {
			return 0, 0, fmt.Errorf("proc status: %s: %q", key, strings.TrimSpace(val))
		}
		if key == "VmRSS" {
			rss, haveRSS = kb<<10, true
		} else {
			peak, havePeak = kb<<10, true
		}
	}
	if !haveRSS || !havePeak {
		return 0, 0, errors.New("proc status: no VmRSS or VmHWM")
	}
	return rss, peak, nil
}
