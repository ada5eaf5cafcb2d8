package parse

import (
	"runtime"
	"strings"
	"testing"
)

func TestParsePlatform(t *testing.T) {
	cases := map[string]string{
		"linux/amd64":    "linux/amd64",
		"linux/x86_64":   "linux/amd64",
		"Linux/AMD64":    "linux/amd64",
		"linux/arm64":    "linux/arm64",
		"linux/arm64/v8": "linux/arm64",
		"linux/aarch64":  "linux/arm64",
		"linux/arm":      "linux/arm/v7",
		"linux/armhf":    "linux/arm/v7",
		"linux/arm/v6":   "linux/arm/v6",
		"linux/arm/7":    "linux/arm/v7",
		"linux/386":      "linux/386",
		"linux/i386":     "linux/386",
		"arm64":          "linux/arm64",
		"s390x":          "linux/s390x",
		"linux":          "linux/" + runtime.GOARCH,
		"windows/amd64":  "windows/amd64",
	}
	for in, want := range cases {
		p, err := ParsePlatform(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if p.String() != want {
			t.Errorf("%s: got %s, want %s", in, p, want)
		}
	}
}

func TestParsePlatformRejectsBadInput(t *testing.T) {
	for _, bad := range []string{"", "/", "linux/", "/amd64", "linux/amd64/v8/x", "linux amd64", "linux/amd64\n", "li*nux/amd64", "arm/v7", "linux/z80", "amd64/linux"} {
		_, err := ParsePlatform(bad)
		if err == nil {
			t.Errorf("%q: expected an error", bad)
			continue
		}
		if !strings.Contains(err.Error(), "invalid platform") || !strings.Contains(err.Error(), "os/arch") {
			t.Errorf("%q: the error does not name the problem and the form: %v", bad, err)
		}
	}
}

func TestPlatformMatches(t *testing.T) {
	must := func(s string) Platform {
		p, err := ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	yes := [][2]string{{"linux/arm64", "linux/arm64/v8"}, {"linux/arm64/v8", "linux/arm64"}, {"linux/amd64", "linux/amd64"}, {"linux/arm", "linux/arm/v7"}}
	for _, c := range yes {
		if !must(c[0]).Matches(must(c[1])) {
			t.Errorf("%s should match %s", c[0], c[1])
		}
	}
	no := [][2]string{{"linux/arm64", "linux/amd64"}, {"linux/arm/v6", "linux/arm/v7"}, {"windows/amd64", "linux/amd64"}}
	for _, c := range no {
		if must(c[0]).Matches(must(c[1])) {
			t.Errorf("%s should not match %s", c[0], c[1])
		}
	}
}

func FuzzParsePlatform(f *testing.F) {
	for _, s := range []string{"linux/amd64", "linux/arm64/v8", "arm64", "linux", "a/b/c/d", "//", "Linux/X86_64", "linux/arm/7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePlatform(s)
		if err != nil {
			if !strings.Contains(err.Error(), "invalid platform") {
				t.Fatalf("%q: error without the usual wording: %v", s, err)
			}
			return
		}
		if p.OS == "" || p.Architecture == "" {
			t.Fatalf("%q parsed to an incomplete platform %+v", s, p)
		}
		// The printed form parses back to the same platform, and matches itself.
		again, err := ParsePlatform(p.String())
		if err != nil || again != p {
			t.Fatalf("%q -> %q does not round-trip: %+v %v", s, p, again, err)
		}
		if !p.Matches(p) {
			t.Fatalf("%q does not match itself", p)
		}
	})
}
