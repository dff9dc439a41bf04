package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// pgCPU returns the CPU time (user and system) used so far by a PostgreSQL
// server running on this machine: its postmaster, the children it has
// reaped and the live ones (backends, the WAL writer, autovacuum), read
// from /proc (Linux; the live children from the postmaster's children
// file). ok is false when no local server is found (no single
// /var/run/postgresql/*.pid, or its /proc entries cannot be read, as on a
// remote server). The resolution is a clock tick (10 ms).
func pgCPU() (cpu time.Duration, ok bool) {
	files, _ := filepath.Glob("/var/run/postgresql/*.pid")
	if len(files) != 1 {
		return 0, false
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		return 0, false
	}
	pm := strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	ticks, ok := procTicks(pm, true)
	if !ok {
		return 0, false
	}
	children, err := os.ReadFile("/proc/" + pm + "/task/" + pm + "/children")
	if err != nil {
		return 0, false
	}
	for _, pid := range strings.Fields(string(children)) {
		if t, ok := procTicks(pid, false); ok { // a child may have exited
			ticks += t
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond, true
}

// procTicks is a process's utime+stime in clock ticks (USER_HZ, 100 on
// Linux), and with children its reaped children's too, from
// /proc/pid/stat.
func procTicks(pid string, children bool) (int64, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndex(s, ")") // the command name may hold spaces
	if i < 0 || i+2 > len(s) {
		return 0, false
	}
	f := strings.Fields(s[i+2:]) // from the state, field 3 of proc(5)
	fields := []int{11, 12}      // utime, stime
	if children {
		fields = append(fields, 13, 14) // cutime, cstime
	}
	var t int64
	for _, k := range fields {
		if k >= len(f) {
			return 0, false
		}
		v, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, false
		}
		t += v
	}
	return t, true
}
