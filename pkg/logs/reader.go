package logs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Entry is one line of a container's output.
type Entry struct {
	Time   time.Time
	Stream string // stdout or stderr
	Line   []byte // with its newline, unless cut
}

// ReadOptions select what `logs` prints.
type ReadOptions struct {
	Tail   int // last N lines; < 0 for all
	Since  time.Time
	Until  time.Time
	Follow bool
	// Running is asked while following; when it turns false the rest of the
	// file is read and Read returns.
	Running func() bool
}

// Read sends the container's log entries to fn.
func Read(ctx context.Context, o Options, ro ReadOptions, fn func(Entry) error) error {
	switch o.Driver {
	case None:
		return ErrNotReadable
	case Journald:
		return readJournal(ctx, o, ro, fn)
	}
	f, err := os.Open(o.Path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	defer func() { f.Close() }()
	parse := parseJSONLine
	if o.Driver == K8sFile {
		parse = parseK8sLine
	}
	keep := func(e Entry) bool {
		return (ro.Since.IsZero() || !e.Time.Before(ro.Since)) && (ro.Until.IsZero() || e.Time.Before(ro.Until))
	}
	r := bufio.NewReaderSize(f, 64<<10)
	if ro.Tail >= 0 {
		var last []Entry
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 && line[len(line)-1] == '\n' {
				if e, ok := parse(line); ok && keep(e) {
					last = append(last, e)
					if len(last) > ro.Tail {
						last = last[1:]
					}
				}
			} else if len(line) > 0 {
				r = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(line), f), 64<<10)
				break
			}
			if err != nil {
				break
			}
		}
		for _, e := range last {
			if err := fn(e); err != nil {
				return err
			}
		}
		if !ro.Follow {
			return nil
		}
	}
	var pending []byte
	for {
		line, err := r.ReadBytes('\n')
		pending = append(pending, line...)
		if len(pending) > 0 && pending[len(pending)-1] == '\n' {
			if e, ok := parse(pending); ok && keep(e) {
				if !ro.Until.IsZero() && !e.Time.Before(ro.Until) {
					return nil
				}
				if err := fn(e); err != nil {
					return err
				}
			}
			pending = pending[:0]
			continue
		}
		if err != io.EOF {
			return err
		}
		if !ro.Follow {
			return nil
		}
		if ro.Running != nil && !ro.Running() {
			// One last read for what was written before the exit.
			rest, _ := io.ReadAll(r)
			for _, l := range bytes.SplitAfter(append(pending, rest...), []byte("\n")) {
				if e, ok := parse(l); ok && keep(e) && len(l) > 0 && l[len(l)-1] == '\n' {
					if err := fn(e); err != nil {
						return err
					}
				}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
		// A rotation replaced the file: carry on with the new one.
		if st, err := os.Stat(o.Path); err == nil {
			if cur, err := f.Stat(); err == nil && !os.SameFile(st, cur) {
				rest, _ := io.ReadAll(r)
				pending = append(pending, rest...)
				nf, err := os.Open(o.Path)
				if err == nil {
					f.Close()
					f = nf
					r = bufio.NewReaderSize(f, 64<<10)
				}
			}
		}
	}
}

func parseJSONLine(line []byte) (Entry, bool) {
	var j jsonEntry
	if err := json.Unmarshal(line, &j); err != nil {
		return Entry{}, false
	}
	t, _ := time.Parse(time.RFC3339Nano, j.Time)
	return Entry{Time: t, Stream: j.Stream, Line: []byte(j.Log)}, true
}

func parseK8sLine(line []byte) (Entry, bool) {
	f := bytes.SplitN(bytes.TrimSuffix(line, []byte("\n")), []byte(" "), 4)
	if len(f) < 3 {
		return Entry{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(f[0]))
	if err != nil {
		return Entry{}, false
	}
	var msg []byte
	if len(f) == 4 {
		msg = f[3]
	}
	if string(f[2]) == "F" {
		msg = append(append([]byte(nil), msg...), '\n')
	}
	return Entry{Time: t, Stream: string(f[1]), Line: msg}, true
}

func readJournal(ctx context.Context, o Options, ro ReadOptions, fn func(Entry) error) error {
	if _, err := exec.LookPath("journalctl"); err != nil {
		return fmt.Errorf("reading journald logs needs journalctl: %w", err)
	}
	args := []string{"--no-pager", "-o", "json", "CONTAINER_ID_FULL=" + o.ID}
	if ro.Tail >= 0 {
		args = append(args, "-n", fmt.Sprint(ro.Tail))
	}
	if !ro.Since.IsZero() {
		args = append(args, "--since", ro.Since.Format("2006-01-02 15:04:05"))
	}
	if !ro.Until.IsZero() {
		args = append(args, "--until", ro.Until.Format("2006-01-02 15:04:05"))
	}
	if ro.Follow {
		args = append(args, "-f")
	}
	cmd := exec.CommandContext(ctx, "journalctl", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		msg, _ := m["MESSAGE"].(string)
		stream := "stdout"
		if p, _ := m["PRIORITY"].(string); p == "3" {
			stream = "stderr"
		}
		var t time.Time
		if us, _ := m["__REALTIME_TIMESTAMP"].(string); us != "" {
			var n int64
			fmt.Sscan(us, &n)
			t = time.UnixMicro(n)
		}
		if err := fn(Entry{Time: t, Stream: stream, Line: []byte(strings.TrimSuffix(msg, "\n") + "\n")}); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return err
		}
	}
	return cmd.Wait()
}
