package monitor

import (
	"bytes"
	"testing"
)

func TestFramesRoundTrip(t *testing.T) {
	var b bytes.Buffer
	WriteFrame(&b, FrameStdout, []byte("hello"))
	WriteJSON(&b, FrameExit, Exit{Code: 3})
	WriteFrame(&b, FrameResize, ResizePayload(30, 100))
	typ, p, err := ReadFrame(&b)
	if err != nil || typ != FrameStdout || string(p) != "hello" {
		t.Fatalf("%c %q %v", typ, p, err)
	}
	typ, p, _ = ReadFrame(&b)
	if typ != FrameExit || string(p) != `{"exitCode":3,"finishedAt":"0001-01-01T00:00:00Z"}` {
		t.Fatalf("%c %s", typ, p)
	}
	_, p, _ = ReadFrame(&b)
	if len(p) != 4 || p[1] != 30 || p[3] != 100 {
		t.Fatalf("resize %v", p)
	}
	if _, _, err := ReadFrame(&b); err == nil {
		t.Fatal("read past the end")
	}
	huge := []byte{FrameStdin, 0xff, 0xff, 0xff, 0xff}
	if _, _, err := ReadFrame(bytes.NewReader(huge)); err == nil {
		t.Fatal("accepted a 4 GiB frame")
	}
}
