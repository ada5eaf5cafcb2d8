package specgen

import (
	"sort"

	"github.com/tug-project/tug/pkg/parse"
)

// validateMounts refuses two mounts on one destination (-v, --mount,
// --tmpfs and mounted secrets together), as Docker does, and a secret
// asked for twice.
func (s *Spec) validateMounts() error {
	all := append([]parse.Mount(nil), s.Mounts...)
	for _, dest := range sortedTmpfs(s.Tmpfs) {
		all = append(all, parse.Mount{Type: parse.MountTmpfs, Destination: dest})
	}
	seen := map[string]bool{}
	for _, sec := range s.Secrets {
		if sec.Type == parse.SecretMount {
			all = append(all, parse.Mount{Destination: sec.Target})
		}
		key := sec.Type + ":" + sec.Target
		if seen[key] {
			return invalid("invalid --secret %s: its target %s is given twice", sec.Name, sec.Target)
		}
		seen[key] = true
	}
	if err := parse.CheckMounts(all); err != nil {
		return invalid("%v", err)
	}
	for _, m := range s.Mounts {
		if m.Type == parse.MountVolume && m.Source == "" && m.Subpath != "" {
			return invalid("invalid mount config for type \"volume\": volume-subpath needs a named volume (source=)")
		}
	}
	return nil
}

func sortedTmpfs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
