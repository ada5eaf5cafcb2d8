package main

import (
	"fmt"
	"os"
	"slices"
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

// registration is one register call, kept until the command line says
// whether its command is needed.
type registration struct {
	group, sub, top string
	mk              func() *cobra.Command
	aliases         []string
	// inGroup and atTop say it was built there.
	inGroup, atTop bool
}

var registrations []registration

// register records a command built by mk under group as sub (with aliases)
// and, when top is non-empty, at the top level as top: register("image",
// "ls", "images", newImages, "list") gives both `tug image ls` and `tug
// images`. With no group, top is a top-level command only. The commands are
// built by addCommands, only those the command line needs.
func register(groupName, sub, top string, mk func() *cobra.Command, aliases ...string) {
	if helperProcess {
		return
	}
	registrations = append(registrations, registration{group: groupName, sub: sub, top: top, mk: mk, aliases: aliases})
}

// addCommands builds the commands args name: building all ~100 of them
// costs every call about a millisecond and a megabyte. Help, completion and
// any command line it cannot read get the whole tree, so that cobra's
// listings, suggestions and errors are unchanged.
func addCommands(args []string) {
	name, rest, ok := commandWord(args)
	if ok && !asksHelp(args) {
		var want []*registration
		for i := range registrations {
			if r := &registrations[i]; r.top == name || r.group == name {
				want = append(want, r)
			}
		}
		if len(want) > 0 {
			sub, _, subOK := commandWord(rest)
			var inGroup []*registration
			for _, r := range want {
				if r.group == name && subOK && (r.sub == sub || slices.Contains(r.aliases, sub)) {
					inGroup = append(inGroup, r)
				}
			}
			for _, r := range want {
				onlySub := len(inGroup) > 0 && r.group == name && !slices.Contains(inGroup, r)
				addRegistration(r, r.group == name && !onlySub, r.top == name)
			}
			return
		}
	}
	addAllCommands()
}

// addAllCommands builds the whole command tree (help, completion, docs).
func addAllCommands() {
	for i := range registrations {
		addRegistration(&registrations[i], true, true)
	}
}

// addRegistration builds r's command in its group and/or at the top level,
// once each.
func addRegistration(r *registration, inGroup, atTop bool) {
	if inGroup && r.group != "" && !r.inGroup {
		r.inGroup = true
		c := r.mk()
		c.Use = replaceUseName(c.Use, r.sub)
		c.Aliases = r.aliases
		group(r.group).AddCommand(c)
	}
	if atTop && r.top != "" && !r.atTop {
		r.atTop = true
		if r.group != "" {
			shortcuts[r.top] = r.group + " " + r.sub
		}
		c := r.mk()
		c.Use = replaceUseName(c.Use, r.top)
		c.Aliases = nil
		rootCmd.AddCommand(c)
	}
}

// globalValueFlags are the root's flags that take a value.
var globalValueFlags = []string{"--root", "--runroot", "--config", "--log-level"}

// commandWord finds the first word of args that is not a global flag or
// its value: the command's name, with the words after it. It gives up (not
// ok) on any other flag, which only cobra can read.
func commandWord(args []string) (name string, rest []string, ok bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a, args[i+1:], true
		}
		flag, _, hasValue := strings.Cut(a, "=")
		if !slices.Contains(globalValueFlags, flag) {
			return "", nil, false
		}
		if !hasValue {
			i++
		}
	}
	return "", nil, false
}

// asksHelp reports a --help anywhere: cobra answers it for whatever
// command comes before it.
func asksHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--help" || a == "-h" {
			return true
		}
	}
	return false
}

func replaceUseName(use, name string) string {
	for i, r := range use {
		if r == ' ' {
			return name + use[i:]
		}
	}
	return name
}
