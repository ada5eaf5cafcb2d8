package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The systemd units of contrib/systemd run a start that tug accepts.
func TestRestartUnitsRunAValidStart(t *testing.T) {
	for _, kind := range []string{"system", "user"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "contrib", "systemd", kind, "tug-restart.service"))
		if err != nil {
			t.Fatal(err)
		}
		var exec string
		for _, l := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(l, "ExecStart=@@TUG@@ "); ok {
				exec = rest
			}
		}
		args := strings.Fields(exec)
		if len(args) == 0 || args[0] != "start" {
			t.Fatalf("%s: ExecStart %q", kind, exec)
		}
		cmd := newStartCommand()
		if err := cmd.ParseFlags(args[1:]); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		all, _ := cmd.Flags().GetBool("all")
		filters, _ := cmd.Flags().GetStringArray("filter")
		if !all || len(filters) != 3 || cmd.Flags().NArg() != 0 {
			t.Fatalf("%s: all=%v filters=%v args=%v", kind, all, filters, cmd.Flags().Args())
		}
		flts, err := parsePsFilters(filters)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		for _, f := range flts {
			if !startFilterKeys[f.key] {
				t.Fatalf("%s: filter %s", kind, f.key)
			}
		}
	}
}
