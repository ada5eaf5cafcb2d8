package parse

import (
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestApplyChangesLikeDocker(t *testing.T) {
	cfg := v1.Config{Env: []string{"PATH=/bin", "HOME=/root"}, Cmd: []string{"sh"}, WorkingDir: "/srv"}
	err := ApplyChanges(&cfg, []string{
		`ENV GREETING="hello world" NAME=tug`,
		`env OLD legacy value`,
		`ENV HOME=/home/$NAME`,
		`ENTRYPOINT ["/bin/echo", "x"]`,
		`EXPOSE 80 53/udp 8000-8002`,
		`LABEL org.tug="a b" version=1`,
		`USER tuguser:1000`,
		"VOLUME [\"/data\", \"/logs\"]\nVOLUME /cache",
		`WORKDIR app`,
		`STOPSIGNAL SIGUSR1`,
		`ONBUILD run echo hi`,
		`HEALTHCHECK --interval=5s --retries=2 CMD curl -f http://localhost/`,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := v1.Config{
		Env:          []string{"PATH=/bin", "HOME=/home/tug", "GREETING=hello world", "NAME=tug", "OLD=legacy value"},
		Entrypoint:   []string{"/bin/echo", "x"},
		ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {}},
		Labels:       map[string]string{"org.tug": "a b", "version": "1"},
		User:         "tuguser:1000",
		Volumes:      map[string]struct{}{"/data": {}, "/logs": {}, "/cache": {}},
		WorkingDir:   "/srv/app",
		StopSignal:   "SIGUSR1",
		OnBuild:      []string{"RUN echo hi"},
		Healthcheck:  &v1.HealthConfig{Test: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: 5 * time.Second, Retries: 2},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestCmdShellFormAndEntrypointKeepsCmdSetInSameChanges(t *testing.T) {
	cfg := v1.Config{}
	if err := ApplyChanges(&cfg, []string{"CMD echo $HOME", "ENTRYPOINT /bin/sh"}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Cmd, []string{"/bin/sh", "-c", "echo $HOME"}) || !reflect.DeepEqual(cfg.Entrypoint, []string{"/bin/sh", "-c", "/bin/sh"}) {
		t.Fatalf("got cmd %q entrypoint %q", cfg.Cmd, cfg.Entrypoint)
	}
}

func TestApplyChangesErrors(t *testing.T) {
	for change, want := range map[string]string{
		"RUN echo hi":                       "RUN is not a valid change command",
		"FROM alpine":                       "not a valid change command",
		"CMD":                               "needs an argument",
		"EXPOSE 99999":                      "1 to 65535",
		"EXPOSE 80/icmp":                    "tcp, udp or sctp",
		"EXPOSE 90-80":                      "START <= END",
		"ENV =x":                            "empty name",
		"ENV onlyname":                      "has no value",
		`LABEL a="unterminated`:             "unterminated",
		"STOPSIGNAL SIGNOPE":                "invalid STOPSIGNAL",
		"USER a b":                          "one argument",
		"ONBUILD ONBUILD RUN x":             "isn't allowed",
		"HEALTHCHECK --bad=1 CMD":           "unknown HEALTHCHECK option",
		"HEALTHCHECK --interval=x CMD true": "not a duration",
		"WORKDIR ${X":                       "missing '}'",
	} {
		cfg := v1.Config{}
		err := ApplyChanges(&cfg, []string{change})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", change, err, want)
		}
	}
}

func TestValidSignal(t *testing.T) {
	for _, s := range []string{"SIGTERM", "term", "9", "RTMIN+3", "SIGRTMAX-1"} {
		if !validSignal(s) {
			t.Errorf("%s rejected", s)
		}
	}
	for _, s := range []string{"0", "65", "SIGFOO", "RTMIN+99", ""} {
		if validSignal(s) {
			t.Errorf("%s accepted", s)
		}
	}
}

// The --change parser never panics and never accepts an instruction outside
// Docker's list.
func FuzzApplyChanges(f *testing.F) {
	for _, s := range []string{"CMD [\"a\"]", "ENV a=b c=\"d e\"", "EXPOSE 1-3/udp", "LABEL x y", "WORKDIR ${A:-/x}", "HEALTHCHECK --retries=1 CMD [\"true\"]", "ONBUILD COPY . /", "STOPSIGNAL 15", "VOLUME [\"/a\"", "ENV a=\\$b 'c'=\"\\\"\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, change string) {
		cfg := v1.Config{Env: []string{"A=1"}}
		if err := ApplyChanges(&cfg, []string{change}); err == nil {
			for _, line := range strings.Split(change, "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				instr := strings.ToUpper(strings.Fields(line)[0])
				if !contains(ChangeInstructions, instr) {
					t.Fatalf("accepted %q", instr)
				}
			}
		}
	})
}
