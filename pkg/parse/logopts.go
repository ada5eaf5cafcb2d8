package parse

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
)

// LogDrivers are the log drivers tug implements.
var LogDrivers = []string{"json-file", "k8s-file", "journald", "none"}

// logOptKeys lists the options each driver takes.
var logOptKeys = map[string][]string{
	"json-file": {"max-size", "max-file", "compress", "labels", "env", "tag"},
	"k8s-file":  {"max-size", "max-file", "tag"},
	"journald":  {"tag", "labels", "env"},
	"none":      {},
}

// LogConfig is a validated --log-driver with its --log-opt options.
type LogConfig struct {
	Driver  string            `json:"Type"`
	Options map[string]string `json:"Config"`
	MaxSize int64             `json:"maxSize,omitempty"` // bytes, 0 = unlimited
	MaxFile int               `json:"maxFile,omitempty"` // files kept, >= 1
}

// ParseLogConfig checks a driver and its KEY=VALUE options as Docker does.
func ParseLogConfig(driver string, opts []string) (LogConfig, error) {
	keys, ok := logOptKeys[driver]
	if !ok {
		return LogConfig{}, fmt.Errorf("invalid log driver %q: use one of %s", driver, strings.Join(LogDrivers, ", "))
	}
	lc := LogConfig{Driver: driver, Options: map[string]string{}, MaxFile: 1}
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok || k == "" {
			return LogConfig{}, fmt.Errorf("invalid log option %q: use KEY=VALUE", o)
		}
		known := false
		for _, kk := range keys {
			known = known || kk == k
		}
		if !known {
			valid := append([]string(nil), keys...)
			sort.Strings(valid)
			if len(valid) == 0 {
				return LogConfig{}, fmt.Errorf("unknown log opt '%s' for %s log driver: it takes no options", k, driver)
			}
			return LogConfig{}, fmt.Errorf("unknown log opt '%s' for %s log driver (valid: %s)", k, driver, strings.Join(valid, ", "))
		}
		lc.Options[k] = v
	}
	if s, ok := lc.Options["max-size"]; ok && s != "-1" {
		n, err := units.RAMInBytes(s)
		if err != nil || n <= 0 {
			return LogConfig{}, fmt.Errorf("invalid log opt max-size=%q: use a size such as 10m or 1k", s)
		}
		lc.MaxSize = n
	}
	if s, ok := lc.Options["max-file"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return LogConfig{}, fmt.Errorf("invalid log opt max-file=%q: use a number of files, at least 1", s)
		}
		if n > 1 && lc.MaxSize == 0 {
			return LogConfig{}, fmt.Errorf("max-file cannot be greater than 1 when max-size is not set")
		}
		lc.MaxFile = n
	}
	if s, ok := lc.Options["compress"]; ok {
		if _, err := strconv.ParseBool(s); err != nil {
			return LogConfig{}, fmt.Errorf("invalid log opt compress=%q: use true or false", s)
		}
	}
	return lc, nil
}
