package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

func TestLinesPrintsMessagesAndFinalStatuses(t *testing.T) {
	var out bytes.Buffer
	l := Lines(&out)
	l.Report(Message("latest: Pulling from %s", "library/alpine"))
	l.Report(Event{ID: "aaaaaaaaaaaa", Status: "Waiting"})
	l.Report(Event{ID: "aaaaaaaaaaaa", Status: "Downloading", Current: 5, Total: 10})
	l.Report(Event{ID: "aaaaaaaaaaaa", Status: "Pull complete", Final: true})
	l.Report(Message("Digest: sha256:x"))
	want := "latest: Pulling from library/alpine\naaaaaaaaaaaa: Pull complete\nDigest: sha256:x\n"
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// Bars draws every layer's final line and puts messages after the bars,
// whatever goroutines report.
func TestBarsEndWithEachLayersFinalLine(t *testing.T) {
	var out syncBuffer
	b := Bars(&out)
	b.Report(Message("latest: Pulling from library/alpine"))
	var wg sync.WaitGroup
	for _, id := range []string{"111111111111", "222222222222", "333333333333"} {
		b.Report(Event{ID: id, Status: "Waiting", Total: 100})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(0); i <= 100; i += 10 {
				b.Report(Event{ID: id, Status: "Downloading", Current: i, Total: 100})
			}
			b.Report(Event{ID: id, Status: "Pull complete", Final: true})
		}()
	}
	wg.Wait()
	b.Report(Message("Digest: sha256:x"))
	b.Close()
	s := out.String()
	for _, id := range []string{"111111111111", "222222222222", "333333333333"} {
		if !strings.Contains(s, id+": Pull complete") {
			t.Fatalf("no final line for %s:\n%q", id, s)
		}
	}
	if strings.Index(s, "Digest:") < strings.LastIndex(s, "Pull complete") {
		t.Fatalf("the message came before the bars finished:\n%q", s)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
