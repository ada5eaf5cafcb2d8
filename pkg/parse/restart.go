package parse

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Restart policy names, as Docker spells them.
const (
	RestartNo            = "no"
	RestartAlways        = "always"
	RestartUnlessStopped = "unless-stopped"
	RestartOnFailure     = "on-failure"
)

// RestartPolicy is a parsed --restart value (inspect's HostConfig.RestartPolicy).
type RestartPolicy struct {
	Name       string `json:"Name"`
	MaxRetries int    `json:"MaximumRetryCount"`
}

// IsNone reports the policy that never restarts.
func (p RestartPolicy) IsNone() bool { return p.Name == "" || p.Name == RestartNo }

// Flag is the policy as --restart takes it.
func (p RestartPolicy) Flag() string {
	if p.IsNone() {
		return RestartNo
	}
	if p.Name == RestartOnFailure && p.MaxRetries > 0 {
		return p.Name + ":" + strconv.Itoa(p.MaxRetries)
	}
	return p.Name
}

// ParseRestartPolicy parses no|always|unless-stopped|on-failure[:N], with
// Docker's error messages.
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	if s == "" {
		return RestartPolicy{Name: RestartNo}, nil
	}
	name, count, hasCount := strings.Cut(s, ":")
	if hasCount && name == "" {
		return RestartPolicy{}, errors.New("invalid restart policy format: no policy provided before colon")
	}
	p := RestartPolicy{Name: name}
	if count != "" {
		n, err := strconv.Atoi(count)
		if err != nil {
			return RestartPolicy{}, errors.New("invalid restart policy format: maximum retry count must be an integer")
		}
		p.MaxRetries = n
	}
	switch name {
	case RestartNo, RestartAlways, RestartUnlessStopped:
		if p.MaxRetries != 0 {
			msg := "invalid restart policy: maximum retry count can only be used with 'on-failure'"
			if p.MaxRetries < 0 {
				msg += " and cannot be negative"
			}
			return RestartPolicy{}, errors.New(msg)
		}
	case RestartOnFailure:
		if p.MaxRetries < 0 {
			return RestartPolicy{}, errors.New("invalid restart policy: maximum retry count cannot be negative")
		}
	default:
		return RestartPolicy{}, fmt.Errorf("invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'", name)
	}
	return p, nil
}
