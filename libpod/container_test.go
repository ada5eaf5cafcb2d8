package libpod

import (
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/specgen"
)

func TestRandomNamesAndIDs(t *testing.T) {
	re := regexp.MustCompile(`^[a-z]+_[a-z]+$`)
	for i := 0; i < 50; i++ {
		if n := randomName(0); !re.MatchString(n) {
			t.Fatalf("name %q", n)
		}
		id := newID()
		if len(id) != 64 || !isHex(id) {
			t.Fatalf("id %q", id)
		}
	}
}

func TestFillFromImageMergesAsDocker(t *testing.T) {
	img := &image.Image{Config: &v1.ConfigFile{Config: v1.Config{
		Entrypoint: []string{"/bin/echo"}, Cmd: []string{"default"}, Env: []string{"PATH=/bin", "A=image"},
		WorkingDir: "/work", User: "tuguser", Labels: map[string]string{"l": "image"}, StopSignal: "USR1",
	}}}
	c := &Container{}
	c.ID = strings.Repeat("ab", 32)
	c.Spec = specgen.Spec{Env: []string{"A=user", "B=1"}, Labels: map[string]string{"m": "user"}}
	if err := c.fillFromImage(img); err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Command(), " ") != "/bin/echo default" || strings.Join(c.Env, ",") != "PATH=/bin,A=user,B=1" ||
		c.WorkingDir != "/work" || c.User != "tuguser" || c.StopSignal != "SIGUSR1" || c.Hostname != c.ID[:12] ||
		c.Labels["l"] != "image" || c.Labels["m"] != "user" || c.StopTimeout != 10 {
		t.Fatalf("%+v", c.ContainerConfig)
	}
	// --entrypoint clears the image's CMD; trailing args replace it.
	c.Spec = specgen.Spec{EntrypointSet: true, Entrypoint: []string{"sh"}}
	c.fillFromImage(img)
	if strings.Join(c.Command(), " ") != "sh" {
		t.Fatalf("entrypoint override: %v", c.Command())
	}
	c.Spec = specgen.Spec{Command: []string{"x"}}
	c.fillFromImage(img)
	if strings.Join(c.Command(), " ") != "/bin/echo x" {
		t.Fatalf("cmd override: %v", c.Command())
	}
	c.Spec = specgen.Spec{EntrypointSet: true}
	if err := c.fillFromImage(&image.Image{Config: &v1.ConfigFile{}}); err == nil || !specgen.IsValidationError(err) {
		t.Fatalf("no command: %v", err)
	}
}

func TestParseDetachKeys(t *testing.T) {
	if k, _ := ParseDetachKeys(""); string(k) != "\x10\x11" {
		t.Fatalf("default %q", k)
	}
	if k, err := ParseDetachKeys("ctrl-a,x"); err != nil || string(k) != "\x01x" {
		t.Fatalf("%q %v", k, err)
	}
	if _, err := ParseDetachKeys("ctrl-1"); err == nil {
		t.Fatal("bad key accepted")
	}
}

func FuzzParseDetachKeys(f *testing.F) {
	for _, s := range []string{"ctrl-p,ctrl-q", "a,b", "ctrl-@", ",", "ctrl-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if k, err := ParseDetachKeys(s); err == nil && len(k) == 0 {
			t.Fatalf("%q gave no keys", s)
		}
	})
}

// A --rm container keeps its hosts, resolv.conf and log in its run
// directory; any other keeps them in the storage root, across reboots.
func TestDataDirOfAutoRemoveIsTheRunDir(t *testing.T) {
	r := &Runtime{Root: "/data/tug", RunRoot: "/run/tug"}
	c := &Container{rt: r}
	c.ID = newID()
	if got, want := c.DataDir(), "/data/tug/containers/"+c.ID; got != want {
		t.Errorf("DataDir = %s, want %s", got, want)
	}
	if got, want := c.LogPath(), "/data/tug/containers/"+c.ID+"/ctr.log"; got != want {
		t.Errorf("LogPath = %s, want %s", got, want)
	}
	c.Spec.AutoRemove = true
	if got, want := c.DataDir(), c.RunDir(); got != want {
		t.Errorf("DataDir of a --rm container = %s, want its run directory %s", got, want)
	}
	if got, want := c.LogPath(), "/run/tug/containers/"+c.ID+"/ctr.log"; got != want {
		t.Errorf("LogPath of a --rm container = %s, want %s", got, want)
	}
}
