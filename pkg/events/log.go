package events

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// DefaultMaxSize is the size at which the log rotates: the current file
// becomes the previous one (replacing it), so the log holds between one
// and two times this (some 12,000 to 24,000 events).
const DefaultMaxSize = 4 << 20

// Log is the event log in Dir: events.log, the previous events.log.1, and
// events.lock. Every event is one write(2) of a whole line on an O_APPEND
// file, so concurrent writers never interleave within a line. Writers hold
// the lock shared while they open and write; the one that finds the file
// too big renames it holding the lock exclusively, so no event is written
// into a file after it was replaced, and a reader that opens both files
// under the shared lock sees every event exactly once.
type Log struct {
	Dir     string
	MaxSize int64 // 0 is DefaultMaxSize
}

// Path is the current file; Path()+".1" the previous one.
func (l *Log) Path() string { return filepath.Join(l.Dir, "events.log") }

func (l *Log) previous() string { return l.Path() + ".1" }

func (l *Log) maxSize() int64 {
	if l.MaxSize > 0 {
		return l.MaxSize
	}
	return DefaultMaxSize
}

// lock opens the lock file and takes it (how: unix.LOCK_SH or LOCK_EX).
func (l *Log) lock(how int, create bool) (*os.File, error) {
	path := filepath.Join(l.Dir, "events.lock")
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if create && errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(l.Dir, 0o700); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(path, flags, 0o600)
	}
	if err != nil {
		return nil, err
	}
	if err := flock(f, how); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

// Write appends one event, rotating the log when it has grown past MaxSize.
func (l *Log) Write(ev Event) error {
	line, err := ev.marshal()
	if err != nil {
		return err
	}
	lk, err := l.lock(unix.LOCK_SH, true)
	if err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	defer lk.Close()
	f, err := os.OpenFile(l.Path(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	_, err = f.Write(line)
	var size int64
	if st, serr := f.Stat(); serr == nil {
		size = st.Size()
	}
	f.Close()
	if err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	if size <= l.maxSize() {
		return nil
	}
	// Converting the lock lets the other holders finish their writes first.
	if err := flock(lk, unix.LOCK_EX); err != nil {
		return nil
	}
	// Another writer may have rotated meanwhile: look again.
	if st, err := os.Stat(l.Path()); err == nil && st.Size() > l.maxSize() {
		if err := os.Rename(l.Path(), l.previous()); err != nil {
			return fmt.Errorf("rotating the event log: %w", err)
		}
	}
	return nil
}

// inode identifies the file behind a path or descriptor.
func inode(info os.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
