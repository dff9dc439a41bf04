package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuTicks returns the CPU time (user and system, in clock ticks of 10 ms)
// used so far by this process and by a PostgreSQL server running on this
// machine: its postmaster, the children it has reaped and the live ones
// (backends, the WAL writer, autovacuum). pg is -1 when no local server is
// found (no /var/run/postgresql/*.pid, or its /proc entries cannot be
// read, as on a remote server). Linux only: self is -1 elsewhere.
func cpuTicks() (self, pg int64) {
	self, pg = procTicks("self", false), -1
	files, _ := filepath.Glob("/var/run/postgresql/*.pid")
	if len(files) != 1 {
		return self, pg
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		return self, pg
	}
	pm := strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	if pg = procTicks(pm, true); pg < 0 {
		return self, pg
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if f := procStat(e.Name()); len(f) > 14 && f[1] == pm {
			pg += max(procTicks(e.Name(), false), 0)
		}
	}
	return self, pg
}

// procStat returns the fields of /proc/pid/stat after the command name
// (the process state first), or nil.
func procStat(pid string) []string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndex(s, ")")
	if i < 0 || i+2 > len(s) {
		return nil
	}
	return strings.Fields(s[i+2:])
}

// procTicks is a process's utime+stime, and with children its reaped
// children's too; -1 when it cannot be read.
func procTicks(pid string, children bool) int64 {
	f := procStat(pid)
	if len(f) < 15 {
		return -1
	}
	fields := []int{11, 12} // utime, stime
	if children {
		fields = append(fields, 13, 14) // cutime, cstime
	}
	var t int64
	for _, i := range fields {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return -1
		}
		t += v
	}
	return t
}
