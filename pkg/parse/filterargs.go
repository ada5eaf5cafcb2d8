package parse

import (
	"fmt"
	"sort"
	"strings"
)

// FilterArgs reads --filter KEY=VALUE options into key -> values, refusing
// a key not in allowed, as Docker does. "label!=X" reads as key "label!".
func FilterArgs(args []string, allowed ...string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, a := range args {
		key, value, ok := strings.Cut(a, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" {
			return nil, fmt.Errorf("bad format of filter %q (expected name=value)", a)
		}
		found := false
		for _, k := range allowed {
			found = found || k == key
		}
		if !found {
			keys := append([]string(nil), allowed...)
			sort.Strings(keys)
			return nil, fmt.Errorf("invalid filter '%s': the filters here are %s", key, strings.Join(keys, ", "))
		}
		out[key] = append(out[key], value)
	}
	return out, nil
}
