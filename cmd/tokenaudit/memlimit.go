package main

import (
	"os"
	"runtime/debug"
)

// memoryLimit is the soft limit of the Go heap and runtime, unless the
// GOMEMLIMIT environment variable sets one. Without it the garbage
// collector lets the heap grow to twice the live data: auditing 100,000
// tokens (the simulator's xl preset) holds about 150 MiB live for a moment,
// while the instance-wide lists are mapped, and peaked at 330-380 MiB
// resident. With the limit the collector runs more often near it and the
// same audit peaks at about 225 MiB, at no measurable cost in wall time
// (docs/performance.md). It is a soft limit: a larger instance that needs
// more live memory gets it, with the garbage collector capped at half the
// CPU.
const memoryLimit = 200 << 20

func init() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}
