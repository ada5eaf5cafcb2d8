package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// ReadOptions select what Read delivers.
type ReadOptions struct {
	// Since replays the events logged from then on; zero replays nothing
	// (only new events, as Docker without --since).
	Since time.Time
	// Until stops at that time: events after it are not delivered, and a
	// follow ends when the clock reaches it. Zero is no end.
	Until time.Time
	// Follow keeps reading new events until Until, or until ctx ends.
	Follow bool
	// Match, when set, selects the events to deliver.
	Match func(*Event) bool
	// Idle, when set, is called each time a follow has delivered all
	// there is and waits for more (a writer flushes there).
	Idle func() error
}

// pollInterval bounds how long a follow sleeps between looks at the log
// when inotify says nothing (and how late it notices ctx ending).
const pollInterval = 500 * time.Millisecond

// Read delivers to fn, in log order, the events opts selects. An error
// from fn ends the read and is returned.
func (l *Log) Read(ctx context.Context, opts ReadOptions, fn func(Event) error) error {
	var watch int = -1
	if opts.Follow {
		// Watch before opening, so that nothing written meanwhile is missed.
		if err := os.MkdirAll(l.Dir, 0o700); err != nil {
			return err
		}
		if fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK); err == nil {
			if _, err := unix.InotifyAddWatch(fd, l.Dir, unix.IN_MODIFY|unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_MOVED_FROM); err == nil {
				watch = fd
				defer unix.Close(fd)
			} else {
				unix.Close(fd)
			}
		}
	}
	prev, cur, err := l.open()
	if err != nil {
		return err
	}
	defer func() { prev.close(); cur.close() }()
	deliver := func(ev *Event) error {
		if !opts.Since.IsZero() && ev.When().Before(opts.Since) {
			return nil
		}
		if !opts.Until.IsZero() && ev.When().After(opts.Until) {
			return nil
		}
		if opts.Match != nil && !opts.Match(ev) {
			return nil
		}
		return fn(*ev)
	}
	if opts.Since.IsZero() {
		cur.skipToEnd()
	} else if err := prev.scan(deliver, false); err != nil {
		return err
	}
	for {
		if err := cur.scan(deliver, opts.Follow); err != nil {
			return err
		}
		if !opts.Follow {
			return nil
		}
		// Rotated (or created) since we opened it: finish the old file, go on with the new.
		if info, err := os.Stat(l.Path()); err == nil && (cur.f == nil || inode(info) != cur.ino) {
			if err := cur.scan(deliver, false); err != nil {
				return err
			}
			old := cur.ino
			cur.close()
			prev.close()
			if prev, cur, err = l.open(); err != nil {
				return err
			}
			// Rotated twice: the previous file is one we have not read yet.
			if prev.f != nil && old != 0 && prev.ino != old {
				if err := prev.scan(deliver, false); err != nil {
					return err
				}
			}
			prev.close()
			continue
		}
		wait := pollInterval
		if !opts.Until.IsZero() {
			left := time.Until(opts.Until)
			if left <= 0 {
				return nil
			}
			wait = min(wait, left+time.Millisecond)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if opts.Idle != nil {
			if err := opts.Idle(); err != nil {
				return err
			}
		}
		waitForChange(watch, wait)
	}
}

// open opens the previous and the current file under the shared lock, so
// that a rotation cannot fall between the two opens.
func (l *Log) open() (prev, cur *logFile, err error) {
	lk, err := l.lock(unix.LOCK_SH, true)
	if err != nil {
		return nil, nil, err
	}
	defer lk.Close()
	if prev, err = openLogFile(l.previous()); err != nil {
		return nil, nil, err
	}
	if cur, err = openLogFile(l.Path()); err != nil {
		prev.close()
		return nil, nil, err
	}
	return prev, cur, nil
}

// waitForChange sleeps until inotify reports a change in the directory or
// timeout passes.
func waitForChange(fd int, timeout time.Duration) {
	if fd < 0 {
		time.Sleep(timeout)
		return
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if n, _ := unix.Poll(fds, int(timeout/time.Millisecond)); n > 0 {
		buf := make([]byte, 4096)
		for {
			if n, err := unix.Read(fd, buf); n <= 0 || err != nil {
				break
			}
		}
	}
}

// logFile is one open file of the log, read line by line.
type logFile struct {
	f       *os.File
	ino     uint64
	r       *bufio.Reader
	partial []byte // a line whose end is not written yet
}

func openLogFile(path string) (*logFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &logFile{}, nil
	}
	if err != nil {
		return nil, err
	}
	lf := &logFile{f: f, r: bufio.NewReaderSize(f, 64<<10)}
	if info, err := f.Stat(); err == nil {
		lf.ino = inode(info)
	}
	return lf, nil
}

func (lf *logFile) close() {
	if lf != nil && lf.f != nil {
		lf.f.Close()
		lf.f = nil
	}
}

func (lf *logFile) skipToEnd() {
	if lf.f != nil {
		lf.f.Seek(0, io.SeekEnd)
		lf.r.Reset(lf.f)
	}
}

// scan delivers the complete lines from the current position to the end.
// A last line without its newline is kept for the next scan when more may
// come (follow), else dropped: a writer killed mid-line leaves nothing
// torn to read. Lines that are not events are skipped.
func (lf *logFile) scan(deliver func(*Event) error, more bool) error {
	if lf == nil || lf.f == nil {
		return nil
	}
	for {
		line, err := lf.r.ReadBytes('\n')
		if len(lf.partial) > 0 {
			line = append(lf.partial, line...)
			lf.partial = nil
		}
		if err != nil {
			if err == io.EOF && more && len(line) > 0 {
				lf.partial = line
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var ev Event
		if json.Unmarshal(line, &ev) != nil || ev.Type == "" {
			continue
		}
		if err := deliver(&ev); err != nil {
			return err
		}
	}
}
