package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// groups are the management commands (tug image, tug container, ...). A group
// exists only once a command is added to it, so --help never shows an empty one.
var groups = map[string]*cobra.Command{}

var groupShort = map[string]string{
	"image":       "Manage images",
	"container":   "Manage containers",
	"system":      "Manage tug",
	"volume":      "Manage volumes",
	"network":     "Manage networks",
	"secret":      "Manage secrets",
	"builder":     "Manage builds",
	"healthcheck": "Manage health checks of containers",
}

// group returns the management command name, creating it on first use.
func group(name string) *cobra.Command {
	if g, ok := groups[name]; ok {
		return g
	}
	g := &cobra.Command{
		Use:   name,
		Short: groupShort[name],
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError(cmd, fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath()))
			}
			return cmd.Help()
		},
	}
	groups[name] = g
	rootCmd.AddCommand(g)
	return g
}

// helperProcess is a re-execution of tug that runs no command line: a
// container's init, the monitor, storage's helpers. Building the commands
// would only cost them time and memory.
var helperProcess = len(os.Args) > 1 && os.Args[1] == "init" || len(os.Args) > 0 && (os.Args[0] == "tug-monitor" || os.Args[0] == "tug-exec" || strings.HasPrefix(os.Args[0], "storage-"))

// shortcuts maps a top-level shortcut to the management command it repeats
// ("images" -> "image ls"), so both share one man page.
var shortcuts = map[string]string{}

// register adds a command built by mk under group as sub (with aliases) and,
// when top is non-empty, at the top level as top: register("image", "ls",
// "images", newImages, "list") gives both `tug image ls` and `tug images`.
func register(groupName, sub, top string, mk func() *cobra.Command, aliases ...string) {
	if helperProcess {
		return
	}
	if groupName != "" {
		c := mk()
		c.Use = replaceUseName(c.Use, sub)
		c.Aliases = aliases
		group(groupName).AddCommand(c)
	}
	if top != "" {
		if groupName != "" {
			shortcuts[top] = groupName + " " + sub
		}
		c := mk()
		c.Use = replaceUseName(c.Use, top)
		c.Aliases = nil
		rootCmd.AddCommand(c)
	}
}

func replaceUseName(use, name string) string {
	for i, r := range use {
		if r == ' ' {
			return name + use[i:]
		}
	}
	return name
}
