//go:build !unix

package listscreen

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
