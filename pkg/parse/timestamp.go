package parse

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Timestamp parses --since/--until values as Docker does: a Go duration
// relative to now ("10m", "1h30m"), an RFC 3339 date or time ("2024-01-02",
// "2024-01-02T15:04:05Z"), or Unix seconds with an optional fraction.
func Timestamp(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("empty timestamp")
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			d = -d
		}
		return now.Add(-d), nil
	}
	if sec, frac, ok := strings.Cut(s, "."); isDigits(sec) && (!ok || isDigits(frac)) {
		n, err := strconv.ParseInt(sec, 10, 64)
		if err == nil && n < 1<<40 {
			nsec := int64(0)
			if ok {
				frac = (frac + "000000000")[:9]
				nsec, _ = strconv.ParseInt(frac, 10, 64)
			}
			return time.Unix(n, nsec), nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid timestamp %q: use a duration (10m), a date (2024-01-02T15:04:05Z) or Unix seconds", s)
}

func isDigits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

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
