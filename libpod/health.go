package libpod

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tug-project/tug/pkg/monitor"
)

// HealthState is a container's health in Docker's shape (State.Health).
// The monitor runs the checks and keeps it in its run directory while the
// container runs; the DB holds it from one run to the next.
type HealthState = monitor.HealthState

// Health statuses, and "none" for a container without a health check (ps
// --filter health=none).
const (
	HealthStarting  = monitor.HealthStarting
	HealthHealthy   = monitor.HealthHealthy
	HealthUnhealthy = monitor.HealthUnhealthy
	HealthNone      = "none"
)

// HealthStatus is the container's health status, or HealthNone.
func (c *Container) HealthStatus() string {
	if c.State.Health == nil || !c.Healthcheck.Active() {
		return HealthNone
	}
	return c.State.Health.Status
}

// healthForStart prepares the health check of a start: the monitor's
// configuration and the state it begins from (starting, with the log of
// earlier runs), written to the run directory. Nil without a health check.
func (c *Container) healthForStart(runDir string) (*monitor.HealthCheck, error) {
	h := c.Healthcheck
	if !h.Active() {
		c.State.Health = nil
		return nil, nil
	}
	interval, timeout, startPeriod, startInterval, retries := h.Durations()
	st := HealthState{Status: HealthStarting, Log: []monitor.HealthResult{}}
	if c.State.Health != nil && c.State.Health.Log != nil {
		st.Log = c.State.Health.Log
	}
	if err := writeJSON(filepath.Join(runDir, monitor.HealthFile), st); err != nil {
		return nil, err
	}
	c.State.Health = &st
	return &monitor.HealthCheck{
		Command: h.Command(), Interval: interval, Timeout: timeout, StartPeriod: startPeriod,
		StartInterval: startInterval, Retries: retries,
	}, nil
}

// eventSink lets the monitor write c's events.
func (c *Container) eventSink() *monitor.EventSink {
	return &monitor.EventSink{Path: c.rt.EventsPath(), Template: containerEvent(c, "health_status", nil)}
}

// readHealth updates c.State.Health from the monitor's file; it reports
// whether it read one.
func (c *Container) readHealth() bool {
	if c.State.Health == nil {
		return false
	}
	data, err := os.ReadFile(filepath.Join(c.RunDir(), monitor.HealthFile))
	if err != nil {
		return false
	}
	var st HealthState
	if json.Unmarshal(data, &st) != nil {
		return false
	}
	c.State.Health = &st
	return true
}

// healthAtExit is the health of a container that stopped running: as
// Docker, unhealthy, with the last probes kept.
func (c *Container) healthAtExit() {
	if c.State.Health == nil {
		return
	}
	c.readHealth()
	c.State.Health.Status = HealthUnhealthy
}

// RunHealthCheck runs the container's health check now, through its
// monitor (which records it as any other), and returns the health status
// it leaves.
func (c *Container) RunHealthCheck() (string, error) {
	if !c.Healthcheck.Active() {
		return "", fmt.Errorf("container %s has no defined healthcheck", c.Name)
	}
	if !c.Running() {
		return "", fmt.Errorf("container %s is not running", c.Name)
	}
	s, err := c.dialMonitor(monitor.Hello{})
	if err != nil {
		return "", err
	}
	defer s.Close()
	if err := s.send(monitor.FrameHealthRun, nil); err != nil {
		return "", err
	}
	for {
		typ, payload, err := monitor.ReadFrame(s.conn)
		if err != nil {
			return "", fmt.Errorf("container %s: the monitor did not answer: %w", c.Name, err)
		}
		if typ != monitor.FrameHealthResult {
			continue
		}
		var res monitor.HealthRunResult
		if err := json.Unmarshal(payload, &res); err != nil {
			return "", err
		}
		if res.Error != "" {
			return "", fmt.Errorf("container %s: %s", c.Name, res.Error)
		}
		return res.Status, nil
	}
}
