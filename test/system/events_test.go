//go:build system

package system

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// eventLine is Docker's default line: time, type, action, actor, attributes.
var eventLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) (\w+) (\S+) (\S+)( \((.*)\))?$`)

// actions lists "type action" of the lines about id, in order.
func actions(t *testing.T, out, id string) []string {
	t.Helper()
	var got []string
	for _, l := range lines(out) {
		m := eventLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not Docker's event line: %q", l)
		}
		if m[4] == id || strings.Contains(m[6], "container="+id) {
			got = append(got, m[2]+" "+m[3])
		}
	}
	return got
}

func TestEventsRunRmOrder(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		e.TugOK("run", "--rm", "--name", "confident_hopper", Img("busybox"), "echo", "Hello World")
		out := e.TugOK("events", "--since", "1m", "--until", "now", "--filter", "type=container").Out
		var id string
		for _, l := range lines(out) {
			if m := eventLine.FindStringSubmatch(l); m != nil && m[3] == "create" && strings.Contains(m[6], "name=confident_hopper") {
				id = m[4]
				if m[6] != "image="+Img("busybox")+", name=confident_hopper" {
					t.Fatalf("create attributes: %q", m[6])
				}
			}
		}
		if len(id) != 64 {
			t.Fatalf("no create event with the full ID:\n%s", out)
		}
		got := strings.Join(actions(t, out, id), ", ")
		if got != "container create, container attach, container start, container die, container destroy" {
			t.Fatalf("run --rm events: %s", got)
		}
		// Docker's die carries execDuration (whole seconds) beside exitCode.
		mustContain(t, out, "container die "+id+" (execDuration=0, exitCode=0, image=")
	})
}

func TestEventsFiltersAndFormat(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		if r := e.Tug("run", "--name", "web", "-l", "tier=front", "-v", "evdata:/data", bb, "sh", "-c", "exit 3"); r.Code != 3 {
			t.Fatalf("run: exit %d %s", r.Code, r.Err)
		}
		e.TugOK("tag", bb, "localhost/mine:1")
		e.TugOK("rmi", "localhost/mine:1")
		replay := func(args ...string) string {
			return e.TugOK(append([]string{"events", "--since", "5m", "--until", "now"}, args...)...).Out
		}
		// C8: Docker's template; a missing attribute prints <no value>.
		out := replay("--filter", "container=web", "--format", "Type={{.Type}} Image={{.Actor.Attributes.image}} Action={{.Action}}")
		if got := strings.Join(lines(out), "|"); got != "Type=container Image="+bb+" Action=create|Type=container Image="+bb+" Action=attach|Type=container Image="+bb+" Action=start|Type=container Image="+bb+" Action=die" {
			t.Fatalf("container=web:\n%s", out)
		}
		if out := replay("--filter", "type=volume", "--format", "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.image}}"); strings.Join(lines(out), "|") != "create evdata <no value>|mount evdata <no value>|unmount evdata <no value>" {
			t.Fatalf("volume events:\n%s", out)
		}
		if out := replay("--filter", "event=die", "--filter", "label=tier=front", "--format", "{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.name}}"); out != "3 web\n" {
			t.Fatalf("event=die label=tier=front: %q", out)
		}
		if out := replay("--filter", "label=tier=back"); out != "" {
			t.Fatalf("label=tier=back matched %q", out)
		}
		// Same key: alternatives. Different keys: all must match.
		if n := len(lines(replay("--filter", "event=create", "--filter", "event=die", "--filter", "type=container"))); n != 2 {
			t.Fatalf("event=create or die: %d lines", n)
		}
		imgID := strings.TrimSpace(e.TugOK("image", "inspect", "--format", "{{.Id}}", bb).Out)
		out = replay("--filter", "type=image", "--format", "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}")
		if got := strings.Join(lines(out), "|"); !strings.HasPrefix(got, "pull "+bb+" "+strings.TrimSuffix(bb, ":latest")+"|") ||
			!strings.HasSuffix(got, "|tag "+imgID+" localhost/mine:1|untag "+imgID+" "+imgID) {
			t.Fatalf("image events: %s", got)
		}
		if out := replay("--filter", "image=localhost/mine", "--format", "{{.Action}}"); out != "tag\n" {
			t.Fatalf("image=localhost/mine: %q", out)
		}
		// {{json .}}: Docker's keys.
		out = replay("--filter", "container=web", "--filter", "event=start", "--format", "{{json .}}")
		var ev map[string]any
		if err := json.Unmarshal([]byte(out), &ev); err != nil {
			t.Fatalf("json: %v %q", err, out)
		}
		for _, k := range []string{"status", "id", "from", "Type", "Action", "Actor", "scope", "time", "timeNano"} {
			if _, ok := ev[k]; !ok {
				t.Errorf("json event has no %q: %s", k, out)
			}
		}
		if ev["from"] != bb || ev["status"] != "start" || ev["scope"] != "local" {
			t.Fatalf("json event: %s", out)
		}
		// Bad input: exit 125, a clear error.
		for want, args := range map[string][]string{
			"invalid filter 'type=bogus'": {"--filter", "type=bogus"},
			`invalid filter "colour"`:     {"--filter", "colour=red"},
			"invalid --since":             {"--since", "yesterday"},
			"invalid --until":             {"--until", "12:00"},
			"template parsing error":      {"--format", "{{.Type"},
		} {
			mustContain(t, e.TugFail(125, append([]string{"events", "--until", "now"}, args...)...).Err, want)
		}
	})
}

func TestEventsSinceUntilReplay(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		e.TugOK("volume", "create", "first")
		time.Sleep(20 * time.Millisecond)
		mid := time.Now()
		time.Sleep(20 * time.Millisecond)
		e.TugOK("volume", "create", "second")
		f := "{{.Actor.ID}}"
		for name, args := range map[string][]string{
			"first":        {"--since", "1h", "--until", fmt.Sprintf("%d.%09d", mid.Unix(), mid.Nanosecond())},
			"second":       {"--since", mid.Format(time.RFC3339Nano), "--until", "now"},
			"first second": {"--since", "2020-01-01", "--until", "0s"},
			"":             {"--since", "1s", "--until", mid.Add(-time.Hour).Format(time.RFC3339)},
		} {
			out := e.TugOK(append([]string{"events", "--filter", "type=volume", "--format", f}, args...)...).Out
			if got := strings.Join(lines(out), " "); got != name {
				t.Errorf("%v: got %q, want %q", args, got, name)
			}
		}
		// Replayed across calls: the log is a file of the run root.
		if _, err := os.Stat(filepath.Join(e.RunRoot, "events.log")); err != nil {
			t.Fatal(err)
		}
		// --until in the future streams until then, then exits 0.
		until := time.Now().Add(time.Second)
		e.TugOK("events", "--until", fmt.Sprint(until.Unix()+1))
		if time.Now().Before(until) {
			t.Fatal("an --until in the future returned before its time")
		}
	})
}

func TestEventsStreaming(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		p := e.Start("events", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
		defer p.Cmd.Process.Kill()
		// Until the stream is attached nothing can be expected: poke it with
		// volume creates until one shows up.
		waitUntil(t, "the event stream to start", func() bool {
			e.TugOK("volume", "create", "poke")
			e.TugOK("volume", "rm", "poke")
			out, _ := p.Output()
			return strings.Contains(out, "volume create")
		})
		e.TugOK("run", "--rm", "--name", "streamed", Img("busybox"), "true")
		if !waitFor(p, "container destroy streamed") {
			out, errs := p.Output()
			t.Fatalf("the stream ended: %s %s", out, errs)
		}
		out, _ := p.Output()
		i := strings.Index(out, "container create streamed")
		// Docker's order for run --rm (internals 23), network events included.
		if i < 0 || !strings.HasPrefix(out[i:], "container create streamed\ncontainer attach streamed\nnetwork connect bridge\ncontainer start streamed\ncontainer die streamed\nnetwork disconnect bridge\ncontainer destroy streamed") {
			t.Fatalf("streamed:\n%s", out)
		}
		p.Cmd.Process.Kill()
		p.Wait()
	})
}

func TestEventsRotationUnderConcurrentWriters(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		conf := filepath.Join(e.TmpDir, "tug.conf")
		e.WriteFile(conf, []byte("[events]\nmax_size = \"8KB\"\n"))
		const writers, each = 8, 12
		var wg sync.WaitGroup
		errs := make(chan string, writers*each)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					name := fmt.Sprintf("v%d-%d", w, i)
					if r := e.Tug("--config", conf, "volume", "create", "--label", "pad="+strings.Repeat("x", 200), name); r.Code != 0 {
						errs <- r.Err
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		dir := e.RunRoot
		total := 0
		for _, f := range []string{"events.log", "events.log.1"} {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatalf("%s: %v (no rotation?)", f, err)
			}
			if len(data) > 2*8192 {
				t.Fatalf("%s is %d bytes: the log is not bounded", f, len(data))
			}
			for n, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
				var ev map[string]any
				if err := json.Unmarshal([]byte(l), &ev); err != nil {
					t.Fatalf("%s line %d is torn: %q", f, n+1, l)
				}
				total++
			}
		}
		out := e.TugOK("--config", conf, "events", "--since", "1h", "--until", "now", "--format", "{{.Actor.ID}}").Out
		seen := map[string]bool{}
		for _, id := range lines(out) {
			if seen[id] {
				t.Fatalf("%s replayed twice", id)
			}
			seen[id] = true
		}
		if len(seen) != total || total < 20 {
			t.Fatalf("replayed %d events of the %d kept", len(seen), total)
		}
	})
}
