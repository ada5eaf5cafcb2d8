package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/specgen"
)

func newExecCommand() *cobra.Command {
	var o libpod.ExecOptions
	var env, envFiles []string
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Args:  minArgs(2, "name the container and the command to run"),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, err := libpod.ParseDetachKeys(detachKeys)
			if err != nil {
				return usageError(cmd, err)
			}
			for _, file := range envFiles {
				kvs, err := parse.EnvFile(file, os.LookupEnv)
				if err != nil {
					return usageError(cmd, err)
				}
				o.Env = append(o.Env, kvs...)
			}
			for _, e := range env {
				kv, ok, err := parse.Env(e, os.LookupEnv)
				if err != nil {
					return usageError(cmd, err)
				}
				if ok {
					o.Env = append(o.Env, kv)
				}
			}
			o.Cmd = args[1:]
			stdinTerm := term.IsTerminal(int(os.Stdin.Fd()))
			outTerm := term.IsTerminal(int(os.Stdout.Fd()))
			if !o.Detach && o.Tty && o.Interactive && !stdinTerm {
				return fmt.Errorf("the input device is not a TTY")
			}
			if o.Tty && outTerm {
				if cols, rows, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
					o.Rows, o.Cols = uint16(rows), uint16(cols)
				}
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			ctr, err := rt.LookupContainer(args[0])
			if err != nil {
				return notFound(err)
			}
			sess, err := ctr.Exec(o)
			if err != nil {
				return execFailed(cmd, err)
			}
			if o.Detach {
				return nil
			}
			return pumpExec(ctr, sess, o, keys, stdinTerm, outTerm)
		},
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false)
	fs.BoolVarP(&o.Interactive, "interactive", "i", false, "keep STDIN open even if not attached")
	fs.BoolVarP(&o.Tty, "tty", "t", false, "allocate a pseudo-TTY")
	fs.BoolVarP(&o.Detach, "detach", "d", false, "detached mode: run command in the background")
	fs.StringArrayVarP(&env, "env", "e", nil, "set environment variables (KEY=VALUE, or KEY to pass it from tug's environment)")
	fs.StringArrayVar(&envFiles, "env-file", nil, "read in a file of environment variables")
	fs.StringVarP(&o.User, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	fs.StringVarP(&o.WorkDir, "workdir", "w", "", "working directory inside the container")
	fs.BoolVar(&o.Privileged, "privileged", false, "give extended privileges to the command")
	fs.StringVar(&detachKeys, "detach-keys", "", "override the key sequence for detaching a container (default ctrl-p,ctrl-q)")
	return cmd
}

// execFailed gives an exec that did not start Docker's exit code: 1 for
// the container's state, 126/127 for a command that cannot run, 125 else.
func execFailed(cmd *cobra.Command, err error) error {
	var se *libpod.StartError
	var state *libpod.RefusedError
	switch {
	case errors.As(err, &state):
		return &exitCodeError{code: 1, msg: state.Msg}
	case errors.As(err, &se):
		return &exitCodeError{code: se.Code, msg: se.Err.Error()}
	case specgen.IsValidationError(err):
		return usageError(cmd, err)
	}
	return err
}

// pumpExec connects the terminal to the exec's process until it exits (its
// code is returned) or the user detaches (the process runs on).
func pumpExec(ctr *libpod.Container, sess *libpod.ExecSession, o libpod.ExecOptions, keys []byte, stdinTerm, outTerm bool) error {
	stdinFd := int(os.Stdin.Fd())
	if o.Tty && o.Interactive && stdinTerm {
		if old, err := term.MakeRaw(stdinFd); err == nil {
			defer term.Restore(stdinFd, old)
		}
	}
	if o.Tty && outTerm {
		winch := make(chan os.Signal, 4)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				if cols, rows, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
					sess.Resize(uint16(rows), uint16(cols))
				}
			}
		}()
	}
	streams := libpod.Streams{Stdout: os.Stdout, Stderr: os.Stderr, DetachKeys: keys}
	if o.Interactive {
		streams.Stdin = os.Stdin
	}
	code, err := sess.Pump(streams)
	sess.Close()
	if errors.Is(err, libpod.ErrDetached) {
		return nil
	}
	if err != nil {
		return err
	}
	ctr.ExecDied(sess, code)
	if code != 0 {
		return &exitCodeError{code: code}
	}
	return nil
}

func init() {
	register("container", "exec", "exec", newExecCommand)
}
