package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/rootless"
)

// Exit codes, as Docker's: 125 for tug's own errors, 126 when the command
// cannot be invoked, 127 when it is not found; otherwise the container's code.
const (
	exitEngine       = 125
	exitCannotInvoke = 126
	exitNotFound     = 127
)

// exitCodeError carries a specific exit code (a container's, or 126/127).
// An empty message prints nothing.
type exitCodeError struct {
	code int
	msg  string
}

func (e *exitCodeError) Error() string { return e.msg }

// globalOptions are the flags every command takes.
type globalOptions struct {
	root, runRoot, configPath, logLevel string
}

var (
	globals globalOptions
	rootCmd = newRootCommand()
	runtime *libpod.Runtime
	helpErr error // set by the help function for an unknown command
)

func newRootCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "tug [OPTIONS] COMMAND",
		Short:                 "A daemonless, rootless container engine with Docker's command line",
		SilenceUsage:          true,
		SilenceErrors:         true,
		DisableFlagsInUseLine: true,
		TraverseChildren:      true,
		CompletionOptions:     cobra.CompletionOptions{HiddenDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			level, err := logrus.ParseLevel(globals.logLevel)
			if err != nil {
				return usageError(cmd, fmt.Errorf("invalid --log-level %q: use one of trace, debug, info, warn, error, fatal, panic", globals.logLevel))
			}
			logrus.SetLevel(level)
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if v, _ := cmd.Flags().GetBool("version"); v {
				return printShortVersion(cmd.OutOrStdout())
			}
			if len(args) > 0 {
				return usageError(cmd, fmt.Errorf("unknown command %q for \"tug\"", args[0]))
			}
			return cmd.Help()
		},
		Args: cobra.ArbitraryArgs,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&globals.root, "root", "", "storage root directory (default $XDG_DATA_HOME/tug, or /var/lib/tug as root)")
	pf.StringVar(&globals.runRoot, "runroot", "", "runtime state directory (default $XDG_RUNTIME_DIR/tug, or /run/tug as root)")
	pf.StringVar(&globals.configPath, "config", "", "path of tug.conf (default ~/.config/tug/tug.conf, or /etc/tug/tug.conf as root)")
	pf.StringVar(&globals.logLevel, "log-level", "warn", "log messages at or above this level: trace, debug, info, warn, error")
	cmd.Flags().BoolP("version", "v", false, "print version information and quit")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError(c, err) })
	cmd.SetHelpCommand(&cobra.Command{Hidden: true, Use: "no-help"})
	// `tug nosuch --help` is a mistyped command, not a request for tug's help.
	defaultHelp := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		if !c.HasParent() && len(c.Flags().Args()) > 0 {
			helpErr = usageError(c, fmt.Errorf("unknown command %q for \"tug\"", c.Flags().Args()[0]))
			return
		}
		defaultHelp(c, args)
	})
	return cmd
}

// usageErr marks a command-line mistake: printed with a pointer to --help.
type usageErr struct {
	cmd *cobra.Command
	err error
}

func (e *usageErr) Error() string { return e.err.Error() }
func (e *usageErr) Unwrap() error { return e.err }

func usageError(cmd *cobra.Command, err error) error { return &usageErr{cmd: cmd, err: err} }

// getRuntime enters the user's namespaces (rootless) and opens the engine.
// Commands call it before changing anything.
func getRuntime() (*libpod.Runtime, error) {
	if runtime != nil {
		return runtime, nil
	}
	runRoot := globals.runRoot
	if runRoot == "" {
		runRoot = libpod.DefaultRunRoot()
	}
	if err := rootless.Enter(runRoot); err != nil {
		return nil, err
	}
	rt, err := libpod.NewRuntime(libpod.Options{Root: globals.root, RunRoot: globals.runRoot, ConfigPath: globals.configPath})
	if err != nil {
		return nil, err
	}
	runtime = rt
	return rt, nil
}

// addCommand registers cmd at the top level and, when group is non-empty,
// under that management command too (tug images / tug image ls).
func addCommand(cmd *cobra.Command) { rootCmd.AddCommand(cmd) }

func execute(args []string) int {
	addCommands(args)
	rootCmd.SetArgs(args)
	err := rootCmd.Execute()
	if err == nil {
		err = helpErr
	}
	if runtime != nil {
		runtime.ShutdownAtExit()
	}
	return reportError(os.Stderr, err)
}

// reportError prints err the way Docker does and returns the exit code.
func reportError(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.msg != "" {
			fmt.Fprintln(w, "Error:", ec.msg)
		}
		return ec.code
	}
	var ue *usageErr
	if errors.As(err, &ue) {
		fmt.Fprintln(w, "Error:", ue.err)
		fmt.Fprintf(w, "See '%s --help'.\n", ue.cmd.CommandPath())
		return exitEngine
	}
	if strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") || strings.HasPrefix(err.Error(), "unknown shorthand flag") {
		fmt.Fprintln(w, "Error:", err)
		fmt.Fprintln(w, "See 'tug --help'.")
		return exitEngine
	}
	fmt.Fprintln(w, "Error:", err)
	return exitEngine
}
