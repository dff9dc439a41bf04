//go:build unix

package sqlite_test

import (
	"syscall"
	"time"
)

// cpuTime is the user and system CPU time the process has used: on a shared
// machine it moves less with other jobs' load than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
