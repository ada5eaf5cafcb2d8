package specgen

import (
	"errors"
	"fmt"
	"time"
)

// HealthConfig is a health check as Docker stores it (image config
// "Healthcheck", inspect's Config.Healthcheck): durations in nanoseconds,
// zero meaning Docker's default.
type HealthConfig struct {
	// Test is ["NONE"], ["CMD", arg...] or ["CMD-SHELL", command].
	Test          []string      `json:"Test,omitempty"`
	Interval      time.Duration `json:"Interval,omitempty"`
	Timeout       time.Duration `json:"Timeout,omitempty"`
	StartPeriod   time.Duration `json:"StartPeriod,omitempty"`
	StartInterval time.Duration `json:"StartInterval,omitempty"`
	Retries       int           `json:"Retries,omitempty"`
}

// Docker's health check defaults.
const (
	DefaultHealthInterval      = 30 * time.Second
	DefaultHealthTimeout       = 30 * time.Second
	DefaultHealthStartInterval = 5 * time.Second
	DefaultHealthRetries       = 3
	minHealthDuration          = time.Millisecond
)

// HealthFlags are the --health-* flags of run and create.
type HealthFlags struct {
	Cmd                                           string
	Interval, Timeout, StartPeriod, StartInterval time.Duration
	Retries                                       int
	None                                          bool // --no-healthcheck
}

// Config turns the flags into the user's part of the health check, with
// Docker's errors: nil when no flag was given.
func (f HealthFlags) Config() (*HealthConfig, error) {
	any := f.Cmd != "" || f.Interval != 0 || f.Timeout != 0 || f.StartPeriod != 0 || f.StartInterval != 0 || f.Retries != 0
	if f.None {
		if any {
			return nil, invalid("--no-healthcheck conflicts with --health-* options")
		}
		return &HealthConfig{Test: []string{"NONE"}}, nil
	}
	if !any {
		return nil, nil
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", f.Interval}, {"timeout", f.Timeout}, {"start-period", f.StartPeriod}, {"start-interval", f.StartInterval}} {
		if d.v < 0 {
			return nil, invalid("--health-%s cannot be negative", d.name)
		}
	}
	if f.Retries < 0 {
		return nil, invalid("--health-retries cannot be negative")
	}
	h := &HealthConfig{Interval: f.Interval, Timeout: f.Timeout, StartPeriod: f.StartPeriod, StartInterval: f.StartInterval, Retries: f.Retries}
	if f.Cmd != "" {
		h.Test = []string{"CMD-SHELL", f.Cmd}
	}
	return h, nil
}

// Validate checks what the daemon checks of a health check.
func (h *HealthConfig) Validate() error {
	if h == nil {
		return nil
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Interval", h.Interval}, {"Timeout", h.Timeout}, {"StartPeriod", h.StartPeriod}, {"StartInterval", h.StartInterval}} {
		if d.v != 0 && d.v < minHealthDuration {
			return fmt.Errorf("%s in Healthcheck cannot be less than %s", d.name, minHealthDuration)
		}
	}
	if h.Retries < 0 {
		return errors.New("Retries in Healthcheck cannot be negative")
	}
	if len(h.Test) > 0 {
		switch h.Test[0] {
		case "NONE":
		case "CMD", "CMD-SHELL":
			if len(h.Test) < 2 {
				return fmt.Errorf("invalid health check: %s needs a command", h.Test[0])
			}
		default:
			return fmt.Errorf("invalid health check: unknown test type %q (use CMD, CMD-SHELL or NONE)", h.Test[0])
		}
	}
	return nil
}

// Merge is the user's health check over the image's, field by field, as
// Docker merges them; nil when neither has one.
func (h *HealthConfig) Merge(image *HealthConfig) *HealthConfig {
	if h == nil {
		if image == nil {
			return nil
		}
		c := *image
		return &c
	}
	c := *h
	if image != nil {
		if len(c.Test) == 0 {
			c.Test = image.Test
		}
		if c.Interval == 0 {
			c.Interval = image.Interval
		}
		if c.Timeout == 0 {
			c.Timeout = image.Timeout
		}
		if c.StartPeriod == 0 {
			c.StartPeriod = image.StartPeriod
		}
		if c.StartInterval == 0 {
			c.StartInterval = image.StartInterval
		}
		if c.Retries == 0 {
			c.Retries = image.Retries
		}
	}
	return &c
}

// Active reports a health check that runs: a command, not NONE.
func (h *HealthConfig) Active() bool {
	return h != nil && len(h.Test) >= 2 && (h.Test[0] == "CMD" || h.Test[0] == "CMD-SHELL")
}

// Command is the health check's process: CMD's arguments, or CMD-SHELL's
// command run by /bin/sh -c.
func (h *HealthConfig) Command() []string {
	if !h.Active() {
		return nil
	}
	if h.Test[0] == "CMD-SHELL" {
		return append([]string{"/bin/sh", "-c"}, h.Test[1:]...)
	}
	return append([]string(nil), h.Test[1:]...)
}

// Durations are the interval, timeout, start period, start interval and
// retries with Docker's defaults filled in.
func (h *HealthConfig) Durations() (interval, timeout, startPeriod, startInterval time.Duration, retries int) {
	interval, timeout, startInterval, retries = DefaultHealthInterval, DefaultHealthTimeout, DefaultHealthStartInterval, DefaultHealthRetries
	if h.Interval > 0 {
		interval = h.Interval
	}
	if h.Timeout > 0 {
		timeout = h.Timeout
	}
	if h.StartInterval > 0 {
		startInterval = h.StartInterval
	}
	if h.Retries > 0 {
		retries = h.Retries
	}
	return interval, timeout, h.StartPeriod, startInterval, retries
}
