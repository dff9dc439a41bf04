//go:build unix

// Package cputime reads the process's CPU time, for benchmarks on a shared
// machine: CPU time moves less with other jobs' load than wall time does.
package cputime

import (
	"syscall"
	"time"
)

// Process returns the user and system CPU time the process has used, 0 if
// it cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
