package parse

import (
	"fmt"
	"runtime"
	"strings"
)

// Platform is an image platform as `--platform` names it: os/arch[/variant].
type Platform struct {
	OS, Architecture, Variant string
}

// String is os/arch or os/arch/variant.
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// HostPlatform is the platform tug runs on.
func HostPlatform() Platform {
	return NormalizePlatform(Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH})
}

var knownOS = map[string]bool{
	"aix": true, "android": true, "darwin": true, "dragonfly": true, "freebsd": true, "illumos": true,
	"ios": true, "js": true, "linux": true, "netbsd": true, "openbsd": true, "plan9": true,
	"solaris": true, "wasip1": true, "windows": true,
}

var knownArch = map[string]bool{
	"386": true, "amd64": true, "arm": true, "arm64": true, "loong64": true, "mips": true, "mipsle": true,
	"mips64": true, "mips64le": true, "ppc": true, "ppc64": true, "ppc64le": true, "riscv64": true,
	"s390x": true, "sparc64": true, "wasm": true,
}

// ParsePlatform reads os/arch[/variant] as Docker's --platform does. One
// component is an OS (with the host's architecture) or an architecture (on
// linux). Aliases are normalized: x86_64 is amd64, aarch64 is arm64, armhf
// is arm/v7.
func ParsePlatform(s string) (Platform, error) {
	bad := func(why string) error {
		return fmt.Errorf("invalid platform %q: %s: use os/arch[/variant], such as linux/amd64 or linux/arm64/v8", s, why)
	}
	if s == "" {
		return Platform{}, bad("it is empty")
	}
	parts := strings.Split(strings.ToLower(s), "/")
	for _, p := range parts {
		if p == "" {
			return Platform{}, bad("it has an empty component")
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
				return Platform{}, bad(fmt.Sprintf("%q is not a valid character", c))
			}
		}
	}
	var p Platform
	switch len(parts) {
	case 1:
		if knownOS[normalizeOS(parts[0])] {
			p = Platform{OS: parts[0], Architecture: runtime.GOARCH}
		} else {
			p = Platform{OS: "linux", Architecture: parts[0]}
		}
	case 2:
		p = Platform{OS: parts[0], Architecture: parts[1]}
	case 3:
		p = Platform{OS: parts[0], Architecture: parts[1], Variant: parts[2]}
	default:
		return Platform{}, bad("it has more than three components")
	}
	p = NormalizePlatform(p)
	if !knownOS[p.OS] {
		return Platform{}, bad(fmt.Sprintf("unknown operating system %q", p.OS))
	}
	if !knownArch[p.Architecture] {
		return Platform{}, bad(fmt.Sprintf("unknown architecture %q", p.Architecture))
	}
	return p, nil
}

func normalizeOS(os string) string {
	os = strings.ToLower(os)
	if os == "macos" {
		return "darwin"
	}
	return os
}

// NormalizePlatform folds the usual aliases into one spelling, as
// containerd's platforms package does, so two spellings of one platform compare equal.
func NormalizePlatform(p Platform) Platform {
	p.OS = normalizeOS(p.OS)
	arch, variant := strings.ToLower(p.Architecture), strings.ToLower(p.Variant)
	switch arch {
	case "i386":
		arch, variant = "386", ""
	case "x86_64", "x86-64", "amd64":
		arch = "amd64"
		if variant == "v1" {
			variant = ""
		}
	case "aarch64", "arm64":
		arch = "arm64"
		if variant == "8" || variant == "v8" || variant == "v8.0" {
			variant = ""
		}
	case "armhf":
		arch, variant = "arm", "v7"
	case "armel":
		arch, variant = "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			variant = "v7"
		case "5", "6", "8":
			variant = "v" + variant
		}
	}
	p.Architecture, p.Variant = arch, variant
	return p
}

// Matches reports whether an image of platform have satisfies the request
// want: same OS and architecture, and the same variant unless want names none.
func (want Platform) Matches(have Platform) bool {
	w, h := NormalizePlatform(want), NormalizePlatform(have)
	return w.OS == h.OS && w.Architecture == h.Architecture && (w.Variant == "" || w.Variant == h.Variant)
}
