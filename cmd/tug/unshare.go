package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/spf13/cobra"
)

func newUnshareCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "unshare [COMMAND [ARG...]]",
		Short: "Run a command inside tug's user and mount namespaces",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := getRuntime(); err != nil {
				return err
			}
			if len(args) == 0 {
				args = []string{os.Getenv("SHELL")}
				if args[0] == "" {
					args[0] = "/bin/sh"
				}
			}
			return execCommand(args)
		},
	}
	// Everything after the command is its own: tug unshare ls -la.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// execCommand replaces tug with argv, so that its exit status, signals and
// terminal are the command's own. It returns only on failure: 127 when the
// command is not found, 126 when it cannot be run.
func execCommand(argv []string) error {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		code := exitNotFound
		if !errors.Is(err, exec.ErrNotFound) && !errors.Is(err, os.ErrNotExist) {
			code = exitCannotInvoke
		}
		return &exitCodeError{code: code, msg: fmt.Sprintf("exec: %q: %v", argv[0], errors.Unwrap(err))}
	}
	err = syscall.Exec(path, argv, os.Environ())
	return &exitCodeError{code: exitCannotInvoke, msg: fmt.Sprintf("exec: %q: %v", argv[0], err)}
}

func init() {
	register("", "", "unshare", newUnshareCommand)
}
