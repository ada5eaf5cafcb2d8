package parse

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/docker/go-units"
)

// MemoryBytes parses a memory size as Docker's --memory does: a number with
// an optional unit b, k, m, g (binary: 1k = 1024), "32m", "1.5g", "1048576".
// "-1" means unlimited (for --memory-swap) and is returned as -1.
func MemoryBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "-1" {
		return -1, nil
	}
	if s == "" {
		return 0, fmt.Errorf("invalid size: it is empty (use a number with an optional unit b, k, m or g, e.g. 512m)")
	}
	n, err := units.RAMInBytes(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q: use a number with an optional unit b, k, m or g, e.g. 512m", s)
	}
	return n, nil
}

// NanoCPUs parses --cpus ("1.5", "0.25", "2") into billionths of a CPU, as
// Docker stores it. More than nine decimals is refused, as Docker does.
func NanoCPUs(s string) (int64, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok || strings.ContainsAny(s, "/eE") {
		return 0, fmt.Errorf("invalid --cpus %q: use a number of CPUs such as 1.5", s)
	}
	if r.Sign() < 0 {
		return 0, fmt.Errorf("invalid --cpus %q: the number of CPUs cannot be negative", s)
	}
	nano := r.Mul(r, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return 0, fmt.Errorf("invalid --cpus %q: value is too precise (at most 9 decimals)", s)
	}
	if !nano.Num().IsInt64() {
		return 0, fmt.Errorf("invalid --cpus %q: value is too large", s)
	}
	return nano.Num().Int64(), nil
}

// CPUSet parses a cpuset list ("0-2,4") as --cpuset-cpus takes it and
// returns the CPUs it names, in order, without duplicates.
func CPUSet(s string) ([]int, error) {
	bad := func(why string) ([]int, error) {
		return nil, fmt.Errorf("invalid cpuset %q: %s (use numbers and ranges such as 0-2,4)", s, why)
	}
	if strings.TrimSpace(s) == "" {
		return bad("it is empty")
	}
	seen := map[int]bool{}
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := cpuNumber(lo)
		if err != nil {
			return bad(err.Error())
		}
		b := a
		if isRange {
			if b, err = cpuNumber(hi); err != nil {
				return bad(err.Error())
			}
			if b < a {
				return bad(fmt.Sprintf("the range %s goes backwards", part))
			}
		}
		if b-a > 8192 {
			return bad(fmt.Sprintf("the range %s is too large", part))
		}
		for i := a; i <= b; i++ {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	return out, nil
}

func cpuNumber(s string) (int, error) {
	if s == "" || len(s) > 5 || !isDigits(s) {
		return 0, fmt.Errorf("%q is not a CPU number", s)
	}
	return strconv.Atoi(s)
}

// CopyArg splits an argument of cp as Docker does: CONTAINER:PATH names a
// path in a container; an absolute path, a path starting with "." (./a:b)
// or one without a colon (or with nothing before it) is local. container is "" for a local path.
func CopyArg(arg string) (container, path string) {
	if strings.HasPrefix(arg, "/") {
		return "", arg
	}
	ctr, p, ok := strings.Cut(arg, ":")
	if !ok || ctr == "" || strings.HasPrefix(ctr, ".") {
		return "", arg
	}
	return ctr, p
}
