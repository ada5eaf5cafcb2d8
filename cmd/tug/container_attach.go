package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tug-project/tug/libpod"
)

// foreground says how a terminal session with a container goes.
type foreground struct {
	keys      []byte
	sigProxy  bool
	stdinOnce bool
	start     bool // start the container (run, start -a) rather than attach to it
	noStdin   bool
	// cleanup: the client records the exit and cleans up (run, start -a).
	cleanup bool
}

// runAttached connects the terminal to the container and returns its exit
// code as an exitCodeError (nil for 0), as run, start -a and attach do.
func runAttached(ctx context.Context, ctr *libpod.Container, fg foreground) error {
	sp := ctr.Spec
	wantStdin := !fg.noStdin && sp.OpenStdin
	if fg.start {
		wantStdin = sp.OpenStdin && sp.AttachStream("stdin")
	}
	hello := libpod.AttachOptions{Stdin: wantStdin, Stdout: true, Stderr: true}
	if fg.start && len(sp.Attach) > 0 {
		hello.Stdout, hello.Stderr = sp.AttachStream("stdout"), sp.AttachStream("stderr")
	}
	stdinFd := int(os.Stdin.Fd())
	isTerm := term.IsTerminal(stdinFd)
	outTerm := term.IsTerminal(int(os.Stdout.Fd()))
	if sp.Tty && outTerm {
		if cols, rows, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			hello.Rows, hello.Cols = uint16(rows), uint16(cols)
		}
	}
	if sp.Tty && wantStdin && !isTerm {
		return fmt.Errorf("the input device is not a TTY")
	}
	var sess *libpod.AttachSession
	var err error
	if fg.start {
		sess, err = ctr.Start(ctx, libpod.StartOptions{Attach: &hello, StdinOnce: fg.stdinOnce})
		if err != nil {
			return startFailed(ctr, err)
		}
	} else {
		sess, err = ctr.Attach(hello)
		if err != nil {
			return err
		}
	}
	if sess == nil {
		return nil
	}
	if sp.Tty && wantStdin && isTerm {
		old, err := term.MakeRaw(stdinFd)
		if err == nil {
			defer term.Restore(stdinFd, old)
		}
	}
	sigs := make(chan os.Signal, 16)
	if sp.Tty && outTerm {
		signal.Notify(sigs, syscall.SIGWINCH)
	}
	if fg.sigProxy && !sp.Tty {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	}
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			if s == syscall.SIGWINCH {
				if cols, rows, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
					sess.Resize(uint16(rows), uint16(cols))
				}
				continue
			}
			ctr.ProxySignal(s.(syscall.Signal))
		}
	}()
	streams := libpod.Streams{Stdout: os.Stdout, Stderr: os.Stderr, DetachKeys: fg.keys}
	if wantStdin {
		streams.Stdin = os.Stdin
	}
	if !hello.Stdout {
		streams.Stdout = nil
	}
	if !hello.Stderr {
		streams.Stderr = nil
	}
	code, err := sess.Pump(streams)
	libpod.Trace("exit received")
	if errors.Is(err, libpod.ErrDetached) {
		sess.Close()
		return nil
	}
	if err != nil {
		sess.Close()
		// The monitor is gone: what the state says is the truth.
		if c, lerr := ctr.Runtime().LookupContainer(ctr.ID); lerr == nil && !c.Running() {
			code = c.State.ExitCode
		} else {
			return err
		}
	} else if fg.start && ctr.Spec.RestartPolicy.IsNone() {
		ctr.Cleanup(ctr.State.Run)
		sess.Cleaned()
	} else {
		// With a restart policy the monitor's cleanup restarts it: the
		// client does not wait for that.
		sess.Close()
	}
	if code != 0 {
		return &exitCodeError{code: code}
	}
	return nil
}

func newAttachCommand() *cobra.Command {
	var detachKeys string
	var noStdin, sigProxy bool
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  exactArgs(1, "name the container to attach to"),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, err := libpod.ParseDetachKeys(detachKeys)
			if err != nil {
				return usageError(cmd, err)
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			ctr, err := rt.LookupContainer(args[0])
			if err != nil {
				return notFound(err)
			}
			if ctr.State.Status == libpod.StatusRestarting {
				return &exitCodeError{code: 1, msg: "You cannot attach to a restarting container, wait until it is running"}
			}
			if !ctr.Running() {
				return &exitCodeError{code: 1, msg: "You cannot attach to a stopped container, start it first"}
			}
			if ctr.State.Status == libpod.StatusPaused {
				return &exitCodeError{code: 1, msg: "You cannot attach to a paused container, unpause it first"}
			}
			return runAttached(cmd.Context(), ctr, foreground{keys: keys, sigProxy: sigProxy, noStdin: noStdin})
		},
	}
	cmd.Flags().StringVar(&detachKeys, "detach-keys", "", "override the key sequence for detaching a container (default ctrl-p,ctrl-q)")
	cmd.Flags().BoolVar(&noStdin, "no-stdin", false, "do not attach STDIN")
	cmd.Flags().BoolVar(&sigProxy, "sig-proxy", true, "proxy all received signals to the process")
	return cmd
}

func init() {
	register("container", "attach", "attach", newAttachCommand)
}
