package libpod

import (
	"syscall"
	"testing"
	"time"

	"github.com/tug-project/tug/pkg/parse"
)

func TestRestartDecision(t *testing.T) {
	always := parse.RestartPolicy{Name: "always"}
	unless := parse.RestartPolicy{Name: "unless-stopped"}
	onFail3 := parse.RestartPolicy{Name: "on-failure", MaxRetries: 3}
	onFail := parse.RestartPolicy{Name: "on-failure"}
	no := parse.RestartPolicy{Name: "no"}
	cases := []struct {
		name              string
		p                 parse.RestartPolicy
		code              int
		canceled, stopped bool
		restarts          int
		want              bool
	}{
		{"no never", no, 1, false, false, 0, false},
		{"always on success", always, 0, false, false, 5, true},
		{"always after stop", always, 137, true, true, 0, false},
		{"always after a signal that does not cancel", always, 1, false, true, 0, true},
		{"unless-stopped", unless, 0, false, false, 0, true},
		{"unless-stopped signalled", unless, 1, false, true, 0, false},
		{"on-failure on success", onFail3, 0, false, false, 0, false},
		{"on-failure under the limit", onFail3, 2, false, false, 2, true},
		{"on-failure at the limit", onFail3, 2, false, false, 3, false},
		{"on-failure without limit", onFail, 2, false, false, 1000, true},
	}
	for _, c := range cases {
		if got, _ := restartDecision(c.p, c.code, c.canceled, c.stopped, c.restarts, 0, time.Second); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRestartBackoff(t *testing.T) {
	always := parse.RestartPolicy{Name: "always"}
	var delays []time.Duration
	prev := time.Duration(0)
	for i := 0; i < 12; i++ {
		_, d := restartDecision(always, 1, false, false, i, prev, time.Millisecond)
		delays = append(delays, d)
		prev = d
	}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000}
	for i, d := range delays {
		if d != want[i]*time.Millisecond {
			t.Fatalf("delays %v", delays)
		}
	}
	// Ten seconds of running starts the back-off over.
	if _, d := restartDecision(always, 1, false, false, 12, time.Minute, 10*time.Second); d != 100*time.Millisecond {
		t.Fatalf("after a long run: %v", d)
	}
}

func TestCancelsRestart(t *testing.T) {
	c := &Container{}
	c.StopSignal = "SIGTERM"
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, syscall.SIGUSR1} {
		if !c.cancelsRestart(sig) {
			t.Errorf("no stop signal configured: %v does not cancel", sig)
		}
	}
	c.Spec.StopSignal, c.StopSignal = "SIGHUP", "SIGHUP"
	if !c.cancelsRestart(syscall.SIGHUP) || !c.cancelsRestart(syscall.SIGKILL) || c.cancelsRestart(syscall.SIGUSR1) {
		t.Error("with --stop-signal HUP: HUP and KILL cancel, USR1 does not")
	}
}
