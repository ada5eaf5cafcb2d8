package progress

import (
	"fmt"
	"io"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Bars draws a live line per layer on a terminal: "ID: Downloading [==>  ]
// 1.2MB / 3.4MB", then its final status. Close it when the work is done.
func Bars(w io.Writer) *BarReporter { return &BarReporter{w: w} }

// BarReporter is the terminal Reporter.
type BarReporter struct {
	mu   sync.Mutex
	w    io.Writer
	p    *mpb.Progress
	bars map[string]*layerBar
}

type layerBar struct {
	bar *mpb.Bar
	mu  sync.Mutex
	// status is what the line says after the ID; transfer tells whether the
	// bar itself is drawn (only while bytes move).
	status   string
	transfer bool
}

func (l *layerBar) set(status string, transfer bool) {
	l.mu.Lock()
	l.status, l.transfer = status, transfer
	l.mu.Unlock()
}

func (l *layerBar) get() (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status, l.transfer
}

// Report draws e.
func (b *BarReporter) Report(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.ID == "" {
		// Messages come before or after a group of layers: finish drawing the
		// group so the message lands below it.
		b.finishLocked()
		fmt.Fprintln(b.w, e.Status)
		return
	}
	if b.p == nil {
		b.p = mpb.New(mpb.WithOutput(b.w), mpb.WithWidth(40), mpb.WithAutoRefresh())
		b.bars = map[string]*layerBar{}
	}
	lb := b.bars[e.ID]
	if lb == nil {
		lb = &layerBar{}
		id := e.ID
		lb.bar = b.p.New(0, mpb.BarStyle().Lbound("[").Filler("=").Tip(">").Padding(" ").Rbound("]"),
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
				status, _ := lb.get()
				return id + ": " + status
			}, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(decor.Any(func(s decor.Statistics) string {
				if _, transfer := lb.get(); !transfer || s.Total <= 0 {
					return ""
				}
				return fmt.Sprintf("%.4g / %.4g", decor.SizeB1000(s.Current), decor.SizeB1000(s.Total))
			})),
			mpb.BarFillerMiddleware(func(base mpb.BarFiller) mpb.BarFiller {
				return mpb.BarFillerFunc(func(w io.Writer, s decor.Statistics) error {
					if _, transfer := lb.get(); !transfer {
						return nil
					}
					return base.Fill(w, s)
				})
			}),
		)
		b.bars[e.ID] = lb
	}
	transfer := !e.Final && e.Total > 0
	lb.set(e.Status, transfer)
	if transfer {
		lb.bar.SetTotal(e.Total, false)
		lb.bar.SetCurrent(e.Current)
	}
	if e.Final {
		lb.bar.SetTotal(-1, true)
	}
}

// finishLocked stops the current group of bars, leaving their last lines.
func (b *BarReporter) finishLocked() {
	if b.p == nil {
		return
	}
	for _, lb := range b.bars {
		if !lb.bar.Completed() {
			lb.bar.Abort(false)
		}
	}
	b.p.Wait()
	b.p, b.bars = nil, nil
}

// Close finishes drawing.
func (b *BarReporter) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finishLocked()
}
