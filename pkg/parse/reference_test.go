package parse

import (
	"strings"
	"testing"

	"github.com/distribution/reference"
)

func TestParseReferenceNormalizesLikeDocker(t *testing.T) {
	cases := map[string]string{
		"alpine":                                   "docker.io/library/alpine:latest",
		"alpine:3.5":                               "docker.io/library/alpine:3.5",
		"gnschenker/alpine:1.0":                    "docker.io/gnschenker/alpine:1.0",
		"gcr.io/gnschenker/sample-app:1.1":         "gcr.io/gnschenker/sample-app:1.1",
		"localhost:5000/x":                         "localhost:5000/x:latest",
		"127.0.0.1:5000/a/b:v1":                    "127.0.0.1:5000/a/b:v1",
		"alpine@sha256:" + strings.Repeat("a", 64): "docker.io/library/alpine@sha256:" + strings.Repeat("a", 64),
	}
	for in, want := range cases {
		r, err := ParseReference(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if r.String() != want {
			t.Errorf("%s: got %s want %s", in, r.String(), want)
		}
	}
}

func TestReferenceParts(t *testing.T) {
	r, err := ParseReference("localhost:5000/team/app:1.2")
	if err != nil {
		t.Fatal(err)
	}
	if r.Domain() != "localhost:5000" || r.Path() != "team/app" || r.Tag() != "1.2" || r.Familiar() != "localhost:5000/team/app:1.2" {
		t.Fatalf("parts: %s %s %s %s", r.Domain(), r.Path(), r.Tag(), r.Familiar())
	}
	a, _ := ParseReference("alpine")
	if a.Familiar() != "alpine:latest" || a.FamiliarName() != "alpine" {
		t.Fatalf("familiar: %s", a.Familiar())
	}
	if FamiliarRepo("docker.io/library/busybox") != "busybox" {
		t.Fatal("FamiliarRepo")
	}
}

func TestParseReferenceRejectsBadInput(t *testing.T) {
	for _, bad := range []string{"", "UPPER", "a b", "alpine:", ":tag", "sha256:abc", "alpine@sha256:zz", "-x"} {
		if _, err := ParseReference(bad); err == nil {
			t.Errorf("%q: expected an error", bad)
		} else if !strings.Contains(err.Error(), "invalid reference format") {
			t.Errorf("%q: error does not name the problem: %v", bad, err)
		}
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"alpine", "localhost:5000/a/b:c", "a@sha256:" + strings.Repeat("0", 64), "UP", "x:y:z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReference(s)
		if err != nil {
			return
		}
		// A parsed reference re-parses to itself, in both full and familiar form.
		again, err := ParseReference(r.String())
		if err != nil || again.String() != r.String() {
			t.Fatalf("%q -> %q does not round-trip: %v", s, r.String(), err)
		}
		fam, err := ParseReference(r.Familiar())
		if err != nil || fam.String() != r.String() {
			t.Fatalf("%q familiar %q does not round-trip: %v", s, r.Familiar(), err)
		}
	})
}

// FuzzReferenceMatchesDistribution checks the hand-written parser against
// Docker's own (github.com/distribution/reference): both accept the same
// strings and normalize them the same way.
func FuzzReferenceMatchesDistribution(f *testing.F) {
	for _, s := range []string{"alpine", "localhost:5000/a/b:c", "a@sha256:" + strings.Repeat("0", 64), "UP/x", "x:y:z", "[::1]:5000/x", "a__b", "a___b", "a--b", "Foo.com/x", "index.docker.io/x", "a.b/c:T_1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ours, err := ParseReference(s)
		named, derr := reference.ParseNormalizedNamed(s)
		if (err == nil) != (derr == nil) {
			if err == nil && strings.HasPrefix(s, "sha256:") {
				return
			}
			if derr == nil && strings.HasPrefix(s, "sha256:") {
				return // we refuse image IDs as names on purpose
			}
			t.Fatalf("%q: ours err=%v, distribution err=%v", s, err, derr)
		}
		if err != nil {
			return
		}
		if want := reference.TagNameOnly(named).String(); ours.String() != want {
			t.Fatalf("%q: ours %q, distribution %q", s, ours.String(), want)
		}
	})
}
