package config

import "time"

// Liveness keeps a health check running while the program is up: after
// Failures consecutive failed tries the manager restarts the program.
type Liveness struct {
	// Interval between the starts of two tries.
	Interval time.Duration `json:"interval"`
	// Failures is how many failed tries in a row restart the program.
	Failures int `json:"failures"`
	// Grace is how long after the program is up the tries begin.
	Grace time.Duration `json:"grace"`
}

// DefaultLivenessFailures is the failures of a liveness block that sets
// none (Kubernetes' failureThreshold).
const DefaultLivenessFailures = 3

// MinWatchdog is the shortest runner watchdog: a shorter period leaves a
// busy program no time to answer, and the manager would wake up for it
// more often than for anything else.
const MinWatchdog = time.Second

// HasLiveness says whether any check keeps running while the program is
// up.
func (c *Config) HasLiveness() bool {
	for _, cc := range c.AllChecks() {
		if cc.Liveness != nil {
			return true
		}
	}
	return false
}
