package specgen

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestHealthFlags(t *testing.T) {
	if h, err := (HealthFlags{}).Config(); h != nil || err != nil {
		t.Fatalf("no flags: %v %v", h, err)
	}
	h, err := HealthFlags{Cmd: "curl -f localhost", Interval: time.Second, Retries: 2}.Config()
	if err != nil || !reflect.DeepEqual(h.Test, []string{"CMD-SHELL", "curl -f localhost"}) || h.Interval != time.Second || h.Retries != 2 {
		t.Fatalf("%+v %v", h, err)
	}
	if h, _ := (HealthFlags{None: true}).Config(); !reflect.DeepEqual(h.Test, []string{"NONE"}) || h.Active() {
		t.Fatalf("--no-healthcheck: %+v", h)
	}
	for flags, msg := range map[HealthFlags]string{
		{None: true, Cmd: "true"}:     "--no-healthcheck conflicts with --health-* options",
		{Interval: -time.Second}:      "--health-interval cannot be negative",
		{Timeout: -1}:                 "--health-timeout cannot be negative",
		{StartPeriod: -1}:             "--health-start-period cannot be negative",
		{Retries: -1}:                 "--health-retries cannot be negative",
		{Cmd: "x", StartInterval: -1}: "--health-start-interval cannot be negative",
	} {
		if _, err := flags.Config(); err == nil || err.Error() != msg || !IsValidationError(err) {
			t.Errorf("%+v: %v, want %q", flags, err, msg)
		}
	}
	if err := (&HealthConfig{Interval: time.Microsecond}).Validate(); err == nil || !strings.Contains(err.Error(), "Interval in Healthcheck cannot be less than 1ms") {
		t.Errorf("1µs interval: %v", err)
	}
	if err := (&HealthConfig{Test: []string{"CMD"}}).Validate(); err == nil {
		t.Error("CMD without a command accepted")
	}
}

func TestHealthMergeAndCommand(t *testing.T) {
	image := &HealthConfig{Test: []string{"CMD", "/bin/check", "-q"}, Interval: 5 * time.Second, Retries: 4}
	user := &HealthConfig{Interval: time.Second}
	m := user.Merge(image)
	if !reflect.DeepEqual(m.Test, image.Test) || m.Interval != time.Second || m.Retries != 4 {
		t.Fatalf("merge: %+v", m)
	}
	if !reflect.DeepEqual(m.Command(), []string{"/bin/check", "-q"}) {
		t.Fatalf("CMD: %v", m.Command())
	}
	interval, timeout, start, startInterval, retries := m.Durations()
	if interval != time.Second || timeout != 30*time.Second || start != 0 || startInterval != 5*time.Second || retries != 4 {
		t.Fatalf("durations %v %v %v %v %v", interval, timeout, start, startInterval, retries)
	}
	shell := &HealthConfig{Test: []string{"CMD-SHELL", "test -f /ok"}}
	if !reflect.DeepEqual(shell.Command(), []string{"/bin/sh", "-c", "test -f /ok"}) {
		t.Fatalf("CMD-SHELL: %v", shell.Command())
	}
	if (*HealthConfig)(nil).Merge(nil) != nil || (&HealthConfig{Test: []string{"NONE"}}).Merge(image).Active() {
		t.Fatal("NONE over the image's must disable it")
	}
}

func TestRestartConflictsWithRm(t *testing.T) {
	s := Spec{Image: "x", AutoRemove: true}
	s.RestartPolicy.Name = "always"
	if err := s.Validate(); err == nil || err.Error() != "Conflicting options: --restart and --rm" {
		t.Fatalf("%v", err)
	}
}
