package parse

import (
	"fmt"
	"strconv"
	"strings"
)

// RestartPolicy is a parsed --restart value.
type RestartPolicy struct {
	Name       string `json:"Name"`
	MaxRetries int    `json:"MaximumRetryCount"`
}

// ParseRestartPolicy parses no|always|unless-stopped|on-failure[:N].
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	name, n, hasN := strings.Cut(s, ":")
	switch name {
	case "", "no", "always", "unless-stopped":
		if hasN {
			return RestartPolicy{}, fmt.Errorf("invalid restart policy %q: only on-failure takes a retry count", s)
		}
		if name == "" {
			name = "no"
		}
		return RestartPolicy{Name: name}, nil
	case "on-failure":
		p := RestartPolicy{Name: name}
		if hasN {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return RestartPolicy{}, fmt.Errorf("invalid restart policy %q: the retry count must be a non-negative number", s)
			}
			p.MaxRetries = v
		}
		return p, nil
	}
	return RestartPolicy{}, fmt.Errorf("invalid restart policy %q: use no, always, unless-stopped or on-failure[:N]", s)
}
