package events

import (
	"fmt"
	"sort"
	"strings"
)

// FilterKeys are the --filter keys of `tug events`.
var FilterKeys = []string{"container", "event", "image", "label", "network", "scope", "type", "volume"}

// Types lists the event types tug writes, for --filter type=.
var Types = []string{TypeContainer, TypeImage, TypeNetwork, TypeVolume}

// Filter is parsed `--filter KEY=VALUE` options, matched as Docker's
// daemon matches them: values of one key are alternatives, different
// keys must all match, and label= filters must all match.
type Filter map[string][]string

// ParseFilter reads --filter values, refusing unknown keys and types.
func ParseFilter(args []string) (Filter, error) {
	f := Filter{}
	for _, a := range args {
		key, value, ok := strings.Cut(a, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" {
			return nil, fmt.Errorf("bad format of filter %q (expected name=value)", a)
		}
		if !contains(FilterKeys, key) {
			return nil, fmt.Errorf("invalid filter %q: the filters of events are %s", key, strings.Join(FilterKeys, ", "))
		}
		switch key {
		case "type":
			if !contains(Types, value) {
				return nil, fmt.Errorf("invalid filter 'type=%s': the event types are %s", value, strings.Join(Types, ", "))
			}
		case "scope":
			if value != "local" && value != "swarm" {
				return nil, fmt.Errorf("invalid filter 'scope=%s': use local or swarm", value)
			}
		case "label":
			if k, _, _ := strings.Cut(value, "="); k == "" {
				return nil, fmt.Errorf("invalid filter 'label=%s': use label=KEY or label=KEY=VALUE", value)
			}
		default:
			if value == "" {
				return nil, fmt.Errorf("invalid filter '%s=': give a value", key)
			}
		}
		f[key] = append(f[key], value)
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

// exact reports whether key is absent or one of its values is v.
func (f Filter) exact(key string, vs ...string) bool {
	want := f[key]
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		for _, v := range vs {
			if v == w {
				return true
			}
		}
	}
	return false
}

// fuzzy reports whether key is absent or one of its values is v or a prefix of v.
func (f Filter) fuzzy(key string, vs ...string) bool {
	want := f[key]
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		for _, v := range vs {
			if v != "" && strings.HasPrefix(v, w) {
				return true
			}
		}
	}
	return false
}

// Match reports whether ev passes every filter.
func (f Filter) Match(ev *Event) bool {
	if len(f) == 0 {
		return true
	}
	attrs := ev.Actor.Attributes
	action, _, _ := strings.Cut(ev.Action, ":") // "exec_start: sh" is event=exec_start
	if !f.exact("event", ev.Action, action) || !f.exact("type", ev.Type) || !f.exact("scope", ev.Scope) {
		return false
	}
	for _, typ := range []string{TypeContainer, TypeVolume, TypeNetwork} {
		if len(f[typ]) > 0 && (ev.Type != typ || !f.fuzzy(typ, ev.Actor.ID, attrs["name"])) {
			return false
		}
	}
	if len(f["image"]) > 0 {
		name := attrs["image"]
		if ev.Type == TypeImage {
			name = attrs["name"]
		}
		if !f.exact("image", ev.Actor.ID, name, stripTag(ev.Actor.ID), stripTag(name)) {
			return false
		}
	}
	for _, want := range f["label"] {
		k, v, hasValue := strings.Cut(want, "=")
		got, ok := attrs[k]
		if !ok || hasValue && got != v {
			return false
		}
	}
	return true
}

// stripTag drops a reference's tag ("busybox:1" -> "busybox"), not a registry port.
func stripTag(ref string) string {
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') && !strings.HasPrefix(ref, "sha256:") {
		return ref[:i]
	}
	return ref
}

// String lists the filter as given, sorted (for messages and tests).
func (f Filter) String() string {
	var parts []string
	for k, vs := range f {
		for _, v := range vs {
			parts = append(parts, k+"="+v)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
