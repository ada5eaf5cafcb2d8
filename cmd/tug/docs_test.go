package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// manPage is the docs/ file of a command: tug image ls -> docs/tug-image-ls.1.md.
func manPage(c *cobra.Command) string {
	path := strings.Fields(c.CommandPath())
	if len(path) == 2 {
		if full, ok := shortcuts[path[1]]; ok {
			path = append([]string{"tug"}, strings.Fields(full)...)
		}
	}
	return filepath.Join("..", "..", "docs", strings.Join(path, "-")+".1.md")
}

// Every visible command has a man page that names each of its flags.
func TestEveryCommandHasACompleteManPage(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "completion" || c.Name() == "help" {
			return
		}
		page := manPage(c)
		data, err := os.ReadFile(page)
		if err != nil {
			t.Errorf("%s has no man page: write %s", c.CommandPath(), page)
		} else {
			c.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
				if f.Hidden || f.Name == "help" {
					return
				}
				if !bytes.Contains(data, []byte("--"+f.Name)) {
					t.Errorf("%s does not document --%s of %s", page, f.Name, c.CommandPath())
				}
			})
			for _, sub := range c.Commands() {
				if !sub.Hidden && sub.Name() != "completion" && sub.Name() != "help" && c != rootCmd && !bytes.Contains(data, []byte(sub.Name())) {
					t.Errorf("%s does not list its subcommand %s", page, sub.Name())
				}
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(rootCmd)
}

// The committed shell completions are what `make completions` generates now.
func TestCompletionsAreUpToDate(t *testing.T) {
	gens := map[string]func(*bytes.Buffer) error{
		"tug.bash": func(b *bytes.Buffer) error { return rootCmd.GenBashCompletionV2(b, true) },
		"_tug":     func(b *bytes.Buffer) error { return rootCmd.GenZshCompletion(b) },
		"tug.fish": func(b *bytes.Buffer) error { return rootCmd.GenFishCompletion(b, true) },
	}
	for file, gen := range gens {
		var want bytes.Buffer
		if err := gen(&want); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "..", "completions", file))
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Errorf("completions/%s is stale or missing: run make completions", file)
		}
	}
}
