package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/format"
)

// statsRow is one line of `tug stats`; its fields are what --format uses.
type statsRow struct {
	BlockIO   string
	CPUPerc   string
	Container string
	ID        string
	MemPerc   string
	MemUsage  string
	Name      string
	NetIO     string
	PIDs      string
}

var statsHeaders = map[string]string{
	"BlockIO": "BLOCK I/O", "CPUPerc": "CPU %", "Container": "CONTAINER", "ID": "CONTAINER ID", "MemPerc": "MEM %",
	"MemUsage": "MEM USAGE / LIMIT", "Name": "NAME", "NetIO": "NET I/O", "PIDs": "PIDS",
}

const statsTable = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

// statsInterval is how often a stream samples and redraws, as Docker's.
// --no-stream measures CPU over a shorter window: one table in half a
// second rather than Docker's one or two.
const (
	statsInterval   = time.Second
	noStreamSamples = 500 * time.Millisecond
)

func newStatsCommand() *cobra.Command {
	var all, noStream, noTrunc bool
	var tmpl string
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			fw := format.Writer{Format: tmpl, DefaultTable: statsTable, Headers: statsHeaders}
			if err := fw.Check(); err != nil {
				return usageError(cmd, err)
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			// Named containers must exist; without names, the list follows
			// what runs (or everything, with -a) at each refresh.
			for _, name := range args {
				if _, err := rt.LookupContainer(name); err != nil {
					return notFound(err)
				}
			}
			targets := func() ([]*libpod.Container, []string, error) {
				if len(args) > 0 {
					var cs []*libpod.Container
					for _, name := range args {
						c, err := rt.LookupContainer(name)
						if err != nil {
							return nil, nil, notFound(err)
						}
						cs = append(cs, c)
					}
					return cs, args, nil
				}
				list, err := rt.Containers()
				if err != nil {
					return nil, nil, err
				}
				var cs []*libpod.Container
				var given []string
				for _, c := range list {
					if all || c.Running() {
						cs = append(cs, c)
						given = append(given, "")
					}
				}
				return cs, given, nil
			}
			prev := map[string]*libpod.ContainerStats{}
			sample := func() ([]statsRow, error) {
				cs, given, err := targets()
				if err != nil {
					return nil, err
				}
				rows := make([]statsRow, 0, len(cs))
				next := map[string]*libpod.ContainerStats{}
				for i, c := range cs {
					st, err := c.Stats()
					if err != nil {
						return nil, err
					}
					next[c.ID] = st
					rows = append(rows, statsRowOf(c, given[i], st, prev[c.ID], noTrunc))
				}
				prev = next
				return rows, nil
			}
			out := cmd.OutOrStdout()
			// Only a template that shows no CPU % spares the second sample.
			needCPU := !strings.Contains(tmpl, "{{") || strings.Contains(tmpl, "CPUPerc") || strings.Contains(tmpl, "json")
			if noStream {
				// CPU % is a rate: it takes two samples.
				if needCPU {
					if _, err := sample(); err != nil {
						return err
					}
					time.Sleep(noStreamSamples)
				}
				rows, err := sample()
				if err != nil {
					return err
				}
				fw.Out = out
				return fw.Write(rows)
			}
			isTerm := false
			if f, ok := out.(*os.File); ok {
				isTerm = term.IsTerminal(int(f.Fd()))
			}
			if isTerm {
				fmt.Fprint(out, "\033[2J")
			}
			if _, err := sample(); err != nil {
				return err
			}
			for {
				time.Sleep(statsInterval)
				rows, err := sample()
				if err != nil {
					return err
				}
				var buf bytes.Buffer
				fw.Out = &buf
				if err := fw.Write(rows); err != nil {
					return err
				}
				if !isTerm {
					out.Write(buf.Bytes())
					continue
				}
				// Redraw in place: home, each line cleared to its end, the rest of the screen cleared.
				var screen strings.Builder
				screen.WriteString("\033[H")
				for _, line := range strings.SplitAfter(buf.String(), "\n") {
					if line != "" {
						screen.WriteString(strings.TrimSuffix(line, "\n") + "\033[K\n")
					}
				}
				screen.WriteString("\033[J")
				fmt.Fprint(out, screen.String())
			}
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&all, "all", "a", false, "show all containers (default shows just running)")
	fl.BoolVar(&noStream, "no-stream", false, "disable streaming stats and only pull the first result")
	fl.BoolVar(&noTrunc, "no-trunc", false, "do not truncate output")
	fl.StringVar(&tmpl, "format", "", "format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template")
	return cmd
}

// statsRowOf renders a sample as Docker does; what cannot be measured is "--".
func statsRowOf(c *libpod.Container, given string, st, prev *libpod.ContainerStats, noTrunc bool) statsRow {
	id := c.ID
	if !noTrunc {
		id = c.ShortID()
	}
	if given == "" {
		given = id
	}
	row := statsRow{Container: given, ID: id, Name: c.Name, CPUPerc: "--", MemUsage: "-- / --", MemPerc: "--", NetIO: "-- / --", BlockIO: "-- / --", PIDs: "--"}
	if !st.Running {
		return row
	}
	if prev != nil && prev.Running && st.CPUTime.Known && prev.CPUTime.Known && st.CPUTime.Value >= prev.CPUTime.Value {
		if wall := st.At.Sub(prev.At); wall > 0 {
			row.CPUPerc = fmt.Sprintf("%.2f%%", float64(st.CPUTime.Value-prev.CPUTime.Value)/float64(wall)*100)
		}
	}
	row.MemUsage = bytesOr(st.MemUsage, units.BytesSize) + " / " + bytesOr(st.MemLimit, units.BytesSize)
	if st.MemUsage.Known && st.MemLimit.Known && st.MemLimit.Value > 0 {
		row.MemPerc = fmt.Sprintf("%.2f%%", float64(st.MemUsage.Value)/float64(st.MemLimit.Value)*100)
	}
	decimal := func(n float64) string { return units.HumanSizeWithPrecision(n, 3) }
	row.NetIO = bytesOr(st.NetRx, decimal) + " / " + bytesOr(st.NetTx, decimal)
	row.BlockIO = bytesOr(st.BlockRead, decimal) + " / " + bytesOr(st.BlockWrit, decimal)
	if st.PIDs.Known {
		row.PIDs = fmt.Sprint(st.PIDs.Value)
	}
	return row
}

func bytesOr(m libpod.Measure, f func(float64) string) string {
	if !m.Known {
		return "--"
	}
	return f(float64(m.Value))
}

func init() {
	register("container", "stats", "stats", newStatsCommand)
}
