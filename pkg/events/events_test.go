package events

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func readAll(t *testing.T, l *Log, opts ReadOptions) []Event {
	t.Helper()
	var out []Event
	if err := l.Read(context.Background(), opts, func(ev Event) error { out = append(out, ev); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStringIsDockersLine(t *testing.T) {
	ev := Event{Type: "container", Action: "create", Actor: Actor{ID: "8e07", Attributes: map[string]string{"name": "confident_hopper", "image": "alpine"}},
		TimeNano: time.Date(2018, 1, 28, 21, 8, 57, 318341118, time.UTC).UnixNano()}
	loc := time.FixedZone("", -6*3600)
	old := time.Local
	time.Local = loc
	defer func() { time.Local = old }()
	if got, want := ev.String(), "2018-01-28T15:08:57.318341118-06:00 container create 8e07 (image=alpine, name=confident_hopper)"; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	ev.Actor.Attributes = nil
	if got := ev.String(); strings.Contains(got, "(") {
		t.Fatalf("no attributes, no parentheses: %s", got)
	}
}

func TestNewFillsDockersLegacyFields(t *testing.T) {
	ev := New(TypeContainer, "start", "abc", map[string]string{"image": "busybox"})
	if ev.Status != "start" || ev.ID != "abc" || ev.From != "busybox" || ev.Scope != "local" || ev.Time == 0 || ev.TimeNano == 0 {
		t.Fatalf("%+v", ev)
	}
	if v := New(TypeVolume, "create", "v", nil); v.Status != "" || v.ID != "" || v.Actor.Attributes == nil {
		t.Fatalf("volume events have no legacy fields: %+v", v)
	}
}

func TestWriteThenReplaySinceUntil(t *testing.T) {
	l := &Log{Dir: t.TempDir()}
	base := time.Now().Add(-time.Hour)
	for i := 0; i < 10; i++ {
		ev := New(TypeContainer, "start", fmt.Sprint(i), nil)
		ev.TimeNano = base.Add(time.Duration(i) * time.Minute).UnixNano()
		ev.Time = ev.TimeNano / 1e9
		if err := l.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if got := readAll(t, l, ReadOptions{}); len(got) != 0 {
		t.Fatalf("without since nothing is replayed, got %d", len(got))
	}
	got := readAll(t, l, ReadOptions{Since: base.Add(3 * time.Minute), Until: base.Add(6 * time.Minute)})
	var ids []string
	for _, ev := range got {
		ids = append(ids, ev.Actor.ID)
	}
	if strings.Join(ids, ",") != "3,4,5,6" {
		t.Fatalf("since/until: %v", ids)
	}
	info, _ := os.Stat(l.Path())
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("log mode %v", info.Mode())
	}
}

func TestRotationUnderConcurrentWritersLosesAndTearsNothing(t *testing.T) {
	l := &Log{Dir: t.TempDir(), MaxSize: 64 << 10}
	const writers, each = 8, 150
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				attrs := map[string]string{"pad": strings.Repeat("x", 100+i%50)}
				if err := l.Write(New(TypeContainer, "create", fmt.Sprintf("%d-%d", w, i), attrs)); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	for _, p := range []string{l.Path(), l.previous()} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if info.Size() > 2*l.MaxSize {
			t.Fatalf("%s is %d bytes: not bounded", p, info.Size())
		}
		data, _ := os.ReadFile(p)
		for n, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if !strings.HasPrefix(line, `{"status"`) || !strings.HasSuffix(line, "}") {
				t.Fatalf("%s line %d is torn: %q", p, n+1, line)
			}
		}
	}
	// What remains is the newest events, each once.
	got := readAll(t, l, ReadOptions{Since: time.Unix(1, 0)})
	seen := map[string]bool{}
	for _, ev := range got {
		if seen[ev.Actor.ID] {
			t.Fatalf("%s read twice", ev.Actor.ID)
		}
		seen[ev.Actor.ID] = true
	}
	if len(got) < 300 {
		t.Fatalf("only %d events kept", len(got))
	}
}

func TestFollowSeesNewEventsAndRotation(t *testing.T) {
	l := &Log{Dir: t.TempDir(), MaxSize: 4 << 10}
	l.Write(New(TypeContainer, "old", "before", nil))
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan Event, 100)
	done := make(chan error, 1)
	go func() {
		done <- l.Read(ctx, ReadOptions{Follow: true}, func(ev Event) error { got <- ev; return nil })
	}()
	time.Sleep(100 * time.Millisecond)
	go func() {
		for i := 0; i < 60; i++ { // several rotations
			l.Write(New(TypeContainer, "start", fmt.Sprint(i), map[string]string{"pad": strings.Repeat("y", 200)}))
			time.Sleep(time.Millisecond) // tug processes write far slower than a loop
		}
	}()
	for i := 0; i < 60; i++ {
		select {
		case ev := <-got:
			if ev.Actor.ID != fmt.Sprint(i) {
				t.Fatalf("event %d is %q", i, ev.Actor.ID)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d events followed", i)
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("read ended with %v", err)
	}
}

func TestFollowEndsAtUntil(t *testing.T) {
	l := &Log{Dir: t.TempDir()}
	start := time.Now()
	err := l.Read(context.Background(), ReadOptions{Follow: true, Until: start.Add(300 * time.Millisecond)}, func(Event) error { return nil })
	if err != nil || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("ended after %v with %v", time.Since(start), err)
	}
}

func TestTornLastLineIsSkipped(t *testing.T) {
	l := &Log{Dir: t.TempDir()}
	l.Write(New(TypeImage, "pull", "busybox:latest", nil))
	f, _ := os.OpenFile(l.Path(), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("not json\n{\"status\":\"cre")
	f.Close()
	got := readAll(t, l, ReadOptions{Since: time.Unix(1, 0)})
	if len(got) != 1 || got[0].Action != "pull" {
		t.Fatalf("%+v", got)
	}
}

func TestFilters(t *testing.T) {
	ctr := New(TypeContainer, "die", "0123456789abcdef", map[string]string{"name": "web", "image": "reg:5000/tug/busybox:latest", "exitCode": "0", "tier": "front"})
	img := New(TypeImage, "tag", "sha256:aaa", map[string]string{"name": "busybox:1"})
	vol := New(TypeVolume, "mount", "my-data", map[string]string{"container": "0123456789abcdef"})
	net := New(TypeNetwork, "connect", "n1", map[string]string{"name": "bridge", "container": "0123456789abcdef"})
	cases := []struct {
		filters []string
		want    string // which of c, i, v, n match
	}{
		{nil, "civn"},
		{[]string{"type=container"}, "c"},
		{[]string{"type=container", "type=image"}, "ci"},
		{[]string{"container=web"}, "c"},
		{[]string{"container=0123"}, "c"},
		{[]string{"container=web", "event=start"}, ""},
		{[]string{"event=die", "event=tag"}, "ci"},
		{[]string{"image=reg:5000/tug/busybox"}, "c"},
		{[]string{"image=busybox"}, "i"},
		{[]string{"image=busybox:1"}, "i"},
		{[]string{"label=tier"}, "c"},
		{[]string{"label=tier=front", "label=exitCode=0"}, "c"},
		{[]string{"label=tier=back"}, ""},
		{[]string{"volume=my-data"}, "v"},
		{[]string{"network=bridge"}, "n"},
		{[]string{"network=n1", "type=network"}, "n"},
		{[]string{"scope=local"}, "civn"},
	}
	for _, tc := range cases {
		f, err := ParseFilter(tc.filters)
		if err != nil {
			t.Fatalf("%v: %v", tc.filters, err)
		}
		got := ""
		for i, ev := range []Event{ctr, img, vol, net} {
			if f.Match(&ev) {
				got += string("civn"[i])
			}
		}
		if got != tc.want {
			t.Errorf("%v matched %q, want %q", tc.filters, got, tc.want)
		}
	}
	for _, bad := range []string{"type=bogus", "color=red", "noequals", "=x", "container=", "label==x", "scope=world"} {
		if _, err := ParseFilter([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"type=container", "container=web", "image=busybox:latest", "label=a=b", "event=exec_start: sh", "=", "volume=x"} {
		f.Add(s, "die", "web")
	}
	f.Fuzz(func(t *testing.T, filter, action, name string) {
		fl, err := ParseFilter([]string{filter})
		if err != nil {
			if !strings.Contains(err.Error(), "filter") {
				t.Fatalf("error does not name the filter: %v", err)
			}
			return
		}
		ev := New(TypeContainer, action, name, map[string]string{"name": name, "image": name})
		fl.Match(&ev)
		if len(fl) != 1 {
			t.Fatalf("one filter gave %v", fl)
		}
	})
}

func FuzzReadLog(f *testing.F) {
	f.Add([]byte("{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"x\"},\"timeNano\":5}\n"))
	f.Add([]byte("garbage\n\n{\"Type\":1}\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := &Log{Dir: t.TempDir()}
		os.WriteFile(l.Path(), data, 0o600)
		l.Read(context.Background(), ReadOptions{Since: time.Unix(0, 1)}, func(ev Event) error {
			if ev.Type == "" {
				t.Fatal("an event without a type was delivered")
			}
			return nil
		})
	})
}
