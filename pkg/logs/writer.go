// Package logs writes and reads container logs: json-file in Docker's
// format, k8s-file in podman's, journald through the journal socket, or none.
package logs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Drivers.
const (
	JSONFile = "json-file"
	K8sFile  = "k8s-file"
	Journald = "journald"
	None     = "none"
)

// JournalSocket is where journald listens for native-protocol datagrams.
var JournalSocket = "/run/systemd/journal/socket"

// ErrNotReadable is returned when the driver keeps nothing to read back.
var ErrNotReadable = errors.New("configured logging driver does not support reading")

// Options say where and how a container's output is kept.
type Options struct {
	Driver  string `json:"driver"`
	Path    string `json:"path,omitempty"`
	MaxSize int64  `json:"maxSize,omitempty"` // bytes before rotation, 0 = never
	MaxFile int    `json:"maxFile,omitempty"` // files kept, counting the active one
	ID      string `json:"id"`
	Name    string `json:"name"`
	Tag     string `json:"tag,omitempty"`
}

// Writer receives a container's output, one chunk at a time.
type Writer interface {
	Write(stream string, p []byte) error
	Close() error
}

// Check reports, before a container is created, whether the driver can work here.
func Check(driver string) error {
	if driver == Journald {
		if _, err := os.Stat(JournalSocket); err != nil {
			return fmt.Errorf("the journald log driver needs systemd-journald, which is not running here (%s is missing): use --log-driver json-file", JournalSocket)
		}
	}
	return nil
}

// NewWriter opens the log of a container.
func NewWriter(o Options) (Writer, error) {
	switch o.Driver {
	case None:
		return nopWriter{}, nil
	case Journald:
		return newJournalWriter(o)
	case JSONFile, K8sFile, "":
		f, err := os.OpenFile(o.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if o.MaxFile < 1 {
			o.MaxFile = 1
		}
		return &fileWriter{o: o, f: f, size: st.Size(), partial: map[string][]byte{}}, nil
	}
	return nil, fmt.Errorf("unknown log driver %q", o.Driver)
}

type nopWriter struct{}

func (nopWriter) Write(string, []byte) error { return nil }
func (nopWriter) Close() error               { return nil }

// maxLine is the longest line kept whole; longer ones are cut, as Docker does at 16 KiB.
const maxLine = 16 << 10

// fileWriter writes json-file or k8s-file lines, rotating by size.
type fileWriter struct {
	o       Options
	f       *os.File
	size    int64
	partial map[string][]byte
	buf     bytes.Buffer
}

func (w *fileWriter) Write(stream string, p []byte) error {
	data := append(w.partial[stream], p...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		if err := w.entry(stream, data[:i+1], false); err != nil {
			return err
		}
		data = data[i+1:]
	}
	for len(data) >= maxLine {
		if err := w.entry(stream, data[:maxLine], true); err != nil {
			return err
		}
		data = data[maxLine:]
	}
	w.partial[stream] = append([]byte(nil), data...)
	return nil
}

type jsonEntry struct {
	Log    string `json:"log"`
	Stream string `json:"stream"`
	Time   string `json:"time"`
}

func (w *fileWriter) entry(stream string, line []byte, partial bool) error {
	now := time.Now().UTC()
	w.buf.Reset()
	if w.o.Driver == K8sFile {
		tag := "F"
		if partial {
			tag = "P"
		}
		w.buf.WriteString(now.Format(time.RFC3339Nano) + " " + stream + " " + tag + " ")
		w.buf.Write(bytes.TrimSuffix(line, []byte("\n")))
		w.buf.WriteByte('\n')
	} else {
		enc := json.NewEncoder(&w.buf)
		enc.SetEscapeHTML(false)
		enc.Encode(jsonEntry{Log: string(line), Stream: stream, Time: now.Format(time.RFC3339Nano)})
	}
	if w.o.MaxSize > 0 && w.size > 0 && w.size+int64(w.buf.Len()) > w.o.MaxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(w.buf.Bytes())
	w.size += int64(n)
	return err
}

// rotate keeps MaxFile files: path, path.1, ... path.(MaxFile-1).
func (w *fileWriter) rotate() error {
	w.f.Close()
	p := w.o.Path
	if w.o.MaxFile <= 1 {
		os.Remove(p)
	} else {
		os.Remove(p + "." + strconv.Itoa(w.o.MaxFile-1))
		for i := w.o.MaxFile - 2; i >= 1; i-- {
			os.Rename(p+"."+strconv.Itoa(i), p+"."+strconv.Itoa(i+1))
		}
		os.Rename(p, p+".1")
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w.f, w.size = f, 0
	return nil
}

func (w *fileWriter) Close() error {
	for _, s := range []string{"stdout", "stderr"} {
		if len(w.partial[s]) > 0 {
			w.entry(s, w.partial[s], true)
		}
	}
	return w.f.Close()
}

// journalWriter sends each line to journald with the container's fields.
type journalWriter struct {
	conn    *net.UnixConn
	addr    *net.UnixAddr
	fields  string
	partial map[string][]byte
}

func newJournalWriter(o Options) (Writer, error) {
	if err := Check(Journald); err != nil {
		return nil, err
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	tag := o.Tag
	if tag == "" && len(o.ID) >= 12 {
		tag = o.ID[:12]
	}
	var f strings.Builder
	fmt.Fprintf(&f, "CONTAINER_ID=%s\nCONTAINER_ID_FULL=%s\nCONTAINER_NAME=%s\nCONTAINER_TAG=%s\nSYSLOG_IDENTIFIER=%s\n", short(o.ID), o.ID, o.Name, tag, tag)
	return &journalWriter{conn: conn, addr: &net.UnixAddr{Name: JournalSocket, Net: "unixgram"}, fields: f.String(), partial: map[string][]byte{}}, nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func (w *journalWriter) Write(stream string, p []byte) error {
	data := append(w.partial[stream], p...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		w.send(stream, data[:i])
		data = data[i+1:]
	}
	w.partial[stream] = append([]byte(nil), data...)
	return nil
}

func (w *journalWriter) send(stream string, msg []byte) {
	prio := "6"
	if stream == "stderr" {
		prio = "3"
	}
	var b bytes.Buffer
	b.WriteString(w.fields)
	b.WriteString("PRIORITY=" + prio + "\n")
	// MESSAGE in the binary-safe form: name, newline, 64-bit LE length, data.
	b.WriteString("MESSAGE\n")
	var n [8]byte
	l := uint64(len(msg))
	for i := 0; i < 8; i++ {
		n[i] = byte(l >> (8 * i))
	}
	b.Write(n[:])
	b.Write(msg)
	b.WriteByte('\n')
	w.conn.WriteToUnix(b.Bytes(), w.addr)
}

func (w *journalWriter) Close() error {
	for _, s := range []string{"stdout", "stderr"} {
		if len(w.partial[s]) > 0 {
			w.send(s, w.partial[s])
		}
	}
	return w.conn.Close()
}
