package main

import (
	"testing"
	"time"

	"github.com/tug-project/tug/libpod"
)

func TestStatsRowLikeDocker(t *testing.T) {
	c := &libpod.Container{}
	c.ID, c.Name = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "web"
	k := func(v uint64) libpod.Measure { return libpod.Measure{Value: v, Known: true} }
	now := time.Now()
	prev := &libpod.ContainerStats{At: now.Add(-time.Second), Running: true, CPUTime: k(1e9)}
	cur := &libpod.ContainerStats{At: now, Running: true, CPUTime: k(15e8), MemUsage: k(1536 << 10), MemLimit: k(64 << 20),
		NetRx: k(1234), NetTx: k(648), BlockRead: k(0), BlockWrit: k(8192), PIDs: k(3)}
	row := statsRowOf(c, "", cur, prev, false)
	want := statsRow{ID: "0123456789ab", Container: "0123456789ab", Name: "web", CPUPerc: "50.00%", MemUsage: "1.5MiB / 64MiB",
		MemPerc: "2.34%", NetIO: "1.23kB / 648B", BlockIO: "0B / 8.19kB", PIDs: "3"}
	if row != want {
		t.Fatalf("got  %+v\nwant %+v", row, want)
	}
	// Nothing measurable: "--", not zeros.
	row = statsRowOf(c, "web", &libpod.ContainerStats{Running: true, PIDs: k(1)}, nil, true)
	if row.CPUPerc != "--" || row.MemUsage != "-- / --" || row.NetIO != "-- / --" || row.Container != "web" || len(row.ID) != 64 {
		t.Fatalf("unknown figures: %+v", row)
	}
	if row := statsRowOf(c, "", &libpod.ContainerStats{}, nil, false); row.PIDs != "--" || row.MemPerc != "--" {
		t.Fatalf("stopped: %+v", row)
	}
}
