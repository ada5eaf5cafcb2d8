package parse

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Filters are parsed --filter key=value options. Values given for one key are
// alternatives (any may match); different keys must all match, as in Docker.
type Filters map[string][]string

// ParseFilters reads --filter options. Keys are case-insensitive; allowed
// lists the keys the command understands (all are allowed when empty).
func ParseFilters(args []string, allowed ...string) (Filters, error) {
	f := Filters{}
	for _, a := range args {
		key, value, ok := strings.Cut(a, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" {
			return nil, fmt.Errorf("bad format of filter %q (expected name=value)", a)
		}
		if len(allowed) > 0 && !contains(allowed, key) {
			sorted := append([]string(nil), allowed...)
			sort.Strings(sorted)
			return nil, fmt.Errorf("invalid filter %q: the filters here are %s", key, strings.Join(sorted, ", "))
		}
		f[key] = append(f[key], strings.TrimSpace(value))
	}
	return f, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Has reports whether key was given.
func (f Filters) Has(key string) bool { return len(f[key]) > 0 }

// Bool reads a filter that takes true or false (dangling=true). Given more
// than once, all values must agree.
func (f Filters) Bool(key string) (value, set bool, err error) {
	for i, v := range f[key] {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, false, fmt.Errorf("invalid filter '%s=%s': use true or false", key, v)
		}
		if i > 0 && b != value {
			return false, false, fmt.Errorf("conflicting filters '%s=true' and '%s=false'", key, key)
		}
		value, set = b, true
	}
	return value, set, nil
}

// MatchLabels reports whether labels satisfy every label=KEY or label=KEY=VALUE
// filter under key (and every label!=... filter under key+"!", when given).
func (f Filters) MatchLabels(key string, labels map[string]string) bool {
	for _, want := range f[key] {
		k, v, hasValue := strings.Cut(want, "=")
		got, ok := labels[k]
		if !ok || hasValue && got != v {
			return false
		}
	}
	for _, unwanted := range f[key+"!"] {
		k, v, hasValue := strings.Cut(unwanted, "=")
		got, ok := labels[k]
		if ok && (!hasValue || got == v) {
			return false
		}
	}
	return true
}

// ParseTimestamp reads a point in time as Docker's until/since filters and
// --since flags take it: a Go duration before now ("10m", "1h30m"), Unix
// seconds ("1700000000", "1700000000.5"), or an RFC 3339 date or date-time,
// in local time when it has no zone ("2024-01-02", "2024-01-02T15:04:05"),
// or "now".
func ParseTimestamp(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("empty timestamp: give a duration (10m), Unix seconds or an RFC 3339 time")
	}
	if s == "now" {
		return now, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if secs, frac, ok := strings.Cut(s, "."); isDigits(secs) && (!ok || isDigits(frac) && frac != "") {
		sec, err := strconv.ParseInt(secs, 10, 64)
		if err == nil && len(frac) <= 9 {
			nsec := int64(0)
			if ok {
				nsec, _ = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			}
			return time.Unix(sec, nsec), nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02T15", "2006-01-02", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid timestamp %q: give a duration (10m), Unix seconds or an RFC 3339 time (2024-01-02T15:04:05Z)", s)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
