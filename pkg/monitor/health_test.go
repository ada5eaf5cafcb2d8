package monitor

import (
	"encoding/json"

	evlog "github.com/tug-project/tug/pkg/events"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHealthTransitions(t *testing.T) {
	t.Chdir(t.TempDir())
	events := filepath.Join(t.TempDir(), "events.log")
	start := time.Now()
	h := &healthChecker{
		hc:    &HealthCheck{Interval: time.Second, Retries: 2, StartPeriod: time.Minute, StartedAt: start},
		state: HealthState{Status: HealthStarting},
		sink:  &EventSink{Path: events, Template: evlog.New(evlog.TypeContainer, "health_status", "x", nil)},
	}
	probe := func(code int, at time.Duration) {
		h.record(HealthResult{Start: start.Add(at), End: start.Add(at), ExitCode: code, Output: "out"})
	}
	// Failures in the start period while never healthy do not count.
	probe(1, time.Second)
	probe(1, 2*time.Second)
	if h.state.Status != HealthStarting || h.state.FailingStreak != 0 {
		t.Fatalf("in the start period: %+v", h.state)
	}
	probe(0, 3*time.Second)
	if h.state.Status != HealthHealthy {
		t.Fatalf("after a success: %+v", h.state)
	}
	// Once healthy, failures count even in the start period; retries of them make it unhealthy.
	probe(1, 4*time.Second)
	if h.state.Status != HealthHealthy || h.state.FailingStreak != 1 {
		t.Fatalf("one failure: %+v", h.state)
	}
	probe(7, 5*time.Second)
	if h.state.Status != HealthUnhealthy || h.state.FailingStreak != 2 {
		t.Fatalf("two failures: %+v", h.state)
	}
	probe(0, 6*time.Second)
	if len(h.state.Log) != healthLogEntries || h.state.Log[len(h.state.Log)-1].Start != start.Add(6*time.Second) {
		t.Fatalf("log keeps the last %d: %+v", healthLogEntries, h.state.Log)
	}
	var saved HealthState
	data, _ := os.ReadFile(HealthFile)
	if json.Unmarshal(data, &saved) != nil || saved.Status != HealthHealthy || saved.FailingStreak != 0 {
		t.Fatalf("saved %s", data)
	}
	ev, _ := os.ReadFile(events)
	lines := strings.Split(strings.TrimSpace(string(ev)), "\n")
	var actions []string
	for _, l := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		if e["status"] != e["Action"] || e["Type"] != "container" {
			t.Fatalf("event %s", l)
		}
		actions = append(actions, e["Action"].(string))
	}
	if strings.Join(actions, ",") != "health_status: healthy,health_status: unhealthy,health_status: healthy" {
		t.Fatalf("events %v", actions)
	}
}

func TestHealthNextInterval(t *testing.T) {
	h := &healthChecker{hc: &HealthCheck{Interval: 30 * time.Second, StartInterval: time.Second, StartPeriod: time.Minute, StartedAt: time.Now()}, state: HealthState{Status: HealthStarting}}
	if d := h.next(); d != time.Second {
		t.Fatalf("starting, in the start period: %v", d)
	}
	h.state.Status = HealthHealthy
	if d := h.next(); d != 30*time.Second {
		t.Fatalf("healthy: %v", d)
	}
	h.hc.StartedAt = time.Now().Add(-50 * time.Second)
	if d := h.next(); d > 10*time.Second || d < 9*time.Second {
		t.Fatalf("the start period ends first: %v", d)
	}
	h.hc.StartedAt = time.Now().Add(-2 * time.Minute)
	if d := h.next(); d != 30*time.Second {
		t.Fatalf("after the start period: %v", d)
	}
}

func TestLimitedBuffer(t *testing.T) {
	r, w, _ := os.Pipe()
	go func() { w.Write([]byte(strings.Repeat("x", healthOutputMax+10))); w.Close() }()
	var b limitedBuffer
	b.ReadFrom(r)
	if s := b.String(); len(s) != healthOutputMax+3 || !strings.HasSuffix(s, "...") {
		t.Fatalf("%d bytes", len(s))
	}
}
