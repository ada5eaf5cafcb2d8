package parse

import (
	"fmt"
	"strconv"
	"strings"
)

// Ulimit is one --ulimit: an RLIMIT name and its soft and hard values
// (-1 means unlimited).
type Ulimit struct {
	Name string `json:"Name"`
	Soft int64  `json:"Soft"`
	Hard int64  `json:"Hard"`
}

// RlimitType is the OCI name of the limit ("RLIMIT_NOFILE").
func (u Ulimit) RlimitType() string { return "RLIMIT_" + strings.ToUpper(u.Name) }

var ulimitNames = map[string]bool{
	"core": true, "cpu": true, "data": true, "fsize": true, "locks": true, "memlock": true,
	"msgqueue": true, "nice": true, "nofile": true, "nproc": true, "rss": true, "rtprio": true,
	"rttime": true, "sigpending": true, "stack": true, "as": true,
}

// ParseUlimit parses NAME=SOFT[:HARD] as Docker's --ulimit ("nofile=1024:2048").
func ParseUlimit(s string) (Ulimit, error) {
	name, vals, ok := strings.Cut(s, "=")
	if !ok {
		return Ulimit{}, fmt.Errorf("invalid ulimit %q: use NAME=SOFT[:HARD], e.g. nofile=1024:2048", s)
	}
	if !ulimitNames[name] {
		return Ulimit{}, fmt.Errorf("invalid ulimit %q: unknown limit %q", s, name)
	}
	softS, hardS, hasHard := strings.Cut(vals, ":")
	soft, err := ulimitValue(softS)
	if err != nil {
		return Ulimit{}, fmt.Errorf("invalid ulimit %q: soft limit: %v", s, err)
	}
	hard := soft
	if hasHard {
		if hard, err = ulimitValue(hardS); err != nil {
			return Ulimit{}, fmt.Errorf("invalid ulimit %q: hard limit: %v", s, err)
		}
	}
	if soft > hard && hard != -1 || soft == -1 && hard != -1 {
		return Ulimit{}, fmt.Errorf("invalid ulimit %q: the soft limit %s is above the hard limit %s", s, softS, hardS)
	}
	return Ulimit{Name: name, Soft: soft, Hard: hard}, nil
}

func ulimitValue(s string) (int64, error) {
	if s == "-1" || s == "unlimited" {
		return -1, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a non-negative number or -1", s)
	}
	return n, nil
}
