package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// The tests that walk the command tree (docs, completions) need all of it.
func TestMain(m *testing.M) {
	addAllCommands()
	os.Exit(m.Run())
}

func TestCommandWord(t *testing.T) {
	for _, tc := range []struct {
		args []string
		name string
		rest []string
		ok   bool
	}{
		{[]string{"run", "--rm", "bb"}, "run", []string{"--rm", "bb"}, true},
		{[]string{"--root", "/r", "--runroot=/rr", "ps", "-a"}, "ps", []string{"-a"}, true},
		{[]string{"--log-level", "debug", "container", "ls"}, "container", []string{"ls"}, true},
		{[]string{"--root"}, "", nil, false},
		{[]string{"-v"}, "", nil, false},
		{[]string{"--nosuch", "run"}, "", nil, false},
		{[]string{"--", "run"}, "", nil, false},
		{nil, "", nil, false},
	} {
		name, rest, ok := commandWord(tc.args)
		if name != tc.name || !slices.Equal(rest, tc.rest) || ok != tc.ok {
			t.Errorf("commandWord(%q) = %q, %q, %v; want %q, %q, %v", tc.args, name, rest, ok, tc.name, tc.rest, tc.ok)
		}
	}
}

// paths lists the command paths of a tree.
func paths(c *cobra.Command) []string {
	var out []string
	for _, sub := range c.Commands() {
		out = append(out, sub.CommandPath())
		out = append(out, paths(sub)...)
	}
	return out
}

// withFreshTree runs f against a tree built from the registrations anew.
func withFreshTree(t *testing.T, f func()) {
	savedRoot, savedGroups, savedRegs := rootCmd, groups, registrations
	t.Cleanup(func() { rootCmd, groups, registrations = savedRoot, savedGroups, savedRegs })
	rootCmd, groups = newRootCommand(), map[string]*cobra.Command{}
	registrations = slices.Clone(savedRegs)
	for i := range registrations {
		registrations[i].inGroup, registrations[i].atTop = false, false
	}
	f()
}

// A command line builds only the command it runs; anything else gets all.
func TestAddCommandsBuildsWhatTheCommandLineNeeds(t *testing.T) {
	full := paths(rootCmd)
	for _, tc := range []struct {
		args      []string
		want      []string // paths that must be there
		wantWhole bool
	}{
		{args: []string{"--root", "/r", "run", "--rm", "bb", "true"}, want: []string{"tug run"}},
		{args: []string{"container", "ls", "-a"}, want: []string{"tug container", "tug container ls"}},
		{args: []string{"container", "ps"}, want: []string{"tug container", "tug container ls"}}, // an alias
		{args: []string{"images"}, want: []string{"tug images"}},
		{args: []string{"container"}, want: []string{"tug container", "tug container ls", "tug container run"}},
		{args: []string{"run", "--help"}, wantWhole: true},
		{args: []string{"nosuch"}, wantWhole: true},
		{args: []string{"completion", "bash"}, wantWhole: true},
		{args: []string{"__complete", "ru"}, wantWhole: true},
		{args: nil, wantWhole: true},
	} {
		withFreshTree(t, func() {
			addCommands(tc.args)
			got := paths(rootCmd)
			if tc.wantWhole {
				if len(got) != len(full) {
					t.Errorf("%q built %d commands, want the whole tree (%d)", tc.args, len(got), len(full))
				}
				return
			}
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("%q did not build %s (built %s)", tc.args, w, strings.Join(got, ", "))
				}
			}
			if len(got) > len(tc.want)+1 && len(tc.want) < 3 {
				t.Errorf("%q built more than it needs: %s", tc.args, strings.Join(got, ", "))
			}
		})
	}
}
