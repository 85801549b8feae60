package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/plugins/healthcheck"
)

// Check is a start test to run: its configuration and the descriptors
// its plugin inherits (Files[i] becomes fd 3+i).
type Check struct {
	config.CheckConfig
	Files []*os.File
}

// check is one configured health-check plugin, started again when its
// process dies.
type check struct {
	cfg   config.CheckConfig
	files []*os.File
	cur   *launched
}

// Prober runs a job's start tests. Its plugins are started when the
// manager starts (a notify check must listen before the program runs) and
// killed by Close.
type Prober struct {
	host *Host
	log  *slog.Logger

	mu     sync.Mutex
	checks []*check
	closed bool
}

// StartProber launches and configures the checks.
func (h *Host) StartProber(ctx context.Context, checks []Check) (*Prober, error) {
	if h.Reaper == nil {
		return nil, errors.New("supervised plugins need the manager's reaper")
	}
	p := &Prober{host: h, log: h.Logger}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	for _, ch := range checks {
		c := &check{cfg: ch.CheckConfig, files: ch.Files}
		if err := p.start(ctx, c); err != nil {
			p.Close()
			return nil, err
		}
		p.checks = append(p.checks, c)
	}
	return p, nil
}

func (p *Prober) start(ctx context.Context, c *check) error {
	spec := Spec{Kind: c.cfg.Kind, Path: c.cfg.Plugin}
	l, err := p.host.launch("healthcheck", spec, c.files)
	if err != nil {
		return err
	}
	if err := l.raw.(healthcheck.Checker).Configure(ctx, c.cfg.Settings); err != nil {
		l.kill()
		return callError(p.host.pluginName("healthcheck", spec), "take its configuration", err)
	}
	c.cur = l
	return nil
}

// pastDeadline says whether a try's context ctx has timed out by now.
// Its deadline counts, not only Err: the plugin's end of the deadline
// (gRPC's, from the same clock) can fire and its answer arrive before,
// on a loaded machine, the timer behind ctx.Err has run.
func pastDeadline(ctx context.Context, now time.Time) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && !now.Before(deadline)
}

// crashSettle bounds how long a failed call waits for its plugin's exit.
const crashSettle = 100 * time.Millisecond

// try runs one try of one check; a dead plugin is started again first,
// and a plugin that crashes or hangs is a failed try.
func (p *Prober) try(ctx context.Context, c *check, req healthcheck.Request) (bool, string) {
	p.mu.Lock()
	if c.cur != nil {
		select {
		case <-c.cur.exited:
			p.log.Error(fmt.Sprintf("health check %s (pid %s) died; starting it again", c.cfg.Kind, c.cur.pid))
			c.cur.kill()
			c.cur = nil
		default:
		}
	}
	if c.cur == nil {
		if err := p.start(ctx, c); err != nil {
			p.mu.Unlock()
			return false, err.Error()
		}
	}
	cur := c.cur
	checker := cur.raw.(healthcheck.Checker)
	p.mu.Unlock()
	tctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	res, err := checker.Check(tctx, req)
	timedOut := pastDeadline(tctx, time.Now())
	switch {
	case err != nil && timedOut:
		return false, fmt.Sprintf("%s check timed out after %v", c.cfg.Kind, c.cfg.Timeout)
	case !res.Healthy && timedOut:
		// The plugin answered, at its end of the same deadline.
		return false, fmt.Sprintf("%s check timed out after %v (%s)", c.cfg.Kind, c.cfg.Timeout, res.Message)
	case err != nil:
		// A plugin that crashed breaks the call a moment before its exit
		// is seen: wait for it (briefly), so that the next try starts a
		// new plugin instead of failing on the dead one, and one crash is
		// one failed try.
		select {
		case <-cur.exited:
		case <-ctx.Done():
		case <-time.After(crashSettle):
		}
		return false, fmt.Sprintf("%s check failed: %v", c.cfg.Kind, err)
	}
	return res.Healthy, res.Message
}

// Probe tries every check, at once and then at each check's interval,
// until all have passed for the program pid started at started; it closes
// the returned channel then. passed gets each check as it passes: its
// index, the time from its first try to the end of the one that passed,
// and the tries. It gives up silently when ctx ends.
func (p *Prober) Probe(ctx context.Context, pid int, started time.Time, passed func(check int, took time.Duration, tries int)) <-chan struct{} {
	up := make(chan struct{})
	req := healthcheck.Request{Pid: pid, Started: started}
	go func() {
		for i, c := range p.checks {
			began := time.Now()
			for tries := 1; ; tries++ {
				ok, msg := p.try(ctx, c, req)
				if ctx.Err() != nil {
					return
				}
				if ok {
					p.log.Debug("start test succeeded (" + msg + ")")
					passed(i, time.Since(began), tries)
					break
				}
				p.log.Debug("start test failed (" + msg + ")")
				select {
				case <-ctx.Done():
					return
				case <-time.After(c.cfg.Interval):
				}
			}
		}
		close(up)
	}()
	return up
}

// Watch tries the checks that have a liveness block while the program
// pid (started at started) is up, until ctx ends: each one first after
// its grace and one interval, then every interval (from the start of one
// try to the next; a try that takes longer is followed at once). A plugin
// that crashes or hangs is a failed try, as at start. report gets each
// try's outcome: the check's index, healthy, the message. Watch returns
// at once; its goroutines end with ctx.
func (p *Prober) Watch(ctx context.Context, pid int, started time.Time, report func(check int, healthy bool, message string, took time.Duration)) {
	req := healthcheck.Request{Pid: pid, Started: started}
	for i, c := range p.checks {
		if lv := c.cfg.Liveness; lv != nil {
			go p.watch(ctx, i, c, req, report)
		}
	}
}

func (p *Prober) watch(ctx context.Context, i int, c *check, req healthcheck.Request, report func(int, bool, string, time.Duration)) {
	lv := c.cfg.Liveness
	t := time.NewTimer(lv.Grace + lv.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		began := time.Now()
		ok, msg := p.try(ctx, c, req)
		if ctx.Err() != nil {
			return
		}
		report(i, ok, msg, time.Since(began))
		t.Reset(max(0, time.Until(began.Add(lv.Interval))))
	}
}

// Idle stops the check plugins while the program is up, but those of
// liveness checks; they start again at the next start (what a program
// reports meanwhile waits in the socket or pipe the manager keeps).
func (p *Prober) Idle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.checks {
		if c.cur != nil && c.cfg.Liveness == nil {
			c.cur.kill()
			c.cur = nil
		}
	}
}

// Suspend kills every check plugin, those of liveness checks too, before
// the manager re-executes itself (an upgrade: the next manager starts its
// own); a try afterwards starts them again, as after a crash.
func (p *Prober) Suspend() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.checks {
		if c.cur != nil {
			c.cur.kill()
			c.cur = nil
		}
	}
}

// Info describes the running check plugins for "show".
func (p *Prober) Info() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, c := range p.checks {
		pid := "idle"
		if c.cur != nil {
			pid = c.cur.pid
		}
		name := c.cfg.Kind
		if c.cfg.Plugin != "" {
			name += " (" + c.cfg.Plugin + ")"
		}
		out = append(out, fmt.Sprintf("healthcheck %s pid=%s", name, pid))
	}
	return out
}

// Pids are the check plugins' process (group) ids.
func (p *Prober) Pids() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for _, c := range p.checks {
		if c.cur != nil {
			out = append(out, atoi(c.cur.pid))
		}
	}
	return out
}

// Close kills the check plugins.
func (p *Prober) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.checks {
		if c.cur != nil {
			c.cur.kill()
			c.cur = nil
		}
	}
}
