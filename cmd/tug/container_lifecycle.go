package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/parse"
)

// notFound words a lookup failure as Docker does (exit 1).
func notFound(err error) error {
	if errors.Is(err, libpod.ErrNoSuchContainer) {
		return &exitCodeError{code: 1, msg: err.Error()}
	}
	return err
}

// eachContainer runs fn on each named container, several at a time, prints
// the name of each that succeeded (in the order given) and the error of
// each that failed; any failure makes the exit code 1, as Docker's.
func eachContainer(cmd *cobra.Command, names []string, fn func(*libpod.Container) error) error {
	rt, err := getRuntime()
	if err != nil {
		return err
	}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, name := range names {
		wg.Add(1)
		go func(i int, name string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ctr, err := rt.LookupContainer(name)
			if err == nil {
				err = fn(ctr)
			}
			errs[i] = err
		}(i, name)
	}
	wg.Wait()
	failed := false
	for i, name := range names {
		if errs[i] != nil {
			fmt.Fprintln(os.Stderr, "Error:", errs[i])
			failed = true
			continue
		}
		fmt.Fprintln(cmd.OutOrStdout(), name)
	}
	if failed {
		return &exitCodeError{code: 1}
	}
	return nil
}

func newStartCommand() *cobra.Command {
	var attach, interactive, all bool
	var detachKeys string
	var filters []string
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args: func(cmd *cobra.Command, args []string) error {
			if all {
				return nil
			}
			return minArgs(1, "name the containers to start, or give --all")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, err := libpod.ParseDetachKeys(detachKeys)
			if err != nil {
				return usageError(cmd, err)
			}
			if all || len(filters) > 0 {
				if attach || interactive {
					return usageError(cmd, fmt.Errorf("you cannot start and attach multiple containers at once"))
				}
				return startSelected(cmd, args, all, filters)
			}
			if attach || interactive {
				if len(args) > 1 {
					return usageError(cmd, fmt.Errorf("you cannot start and attach multiple containers at once"))
				}
				rt, err := getRuntime()
				if err != nil {
					return err
				}
				ctr, err := rt.LookupContainer(args[0])
				if err != nil {
					return notFound(err)
				}
				ctr.Spec.Attach = []string{"stdout", "stderr"}
				if interactive {
					ctr.Spec.Attach = append(ctr.Spec.Attach, "stdin")
				}
				if ctr.Running() {
					return runAttached(cmd.Context(), ctr, foreground{keys: keys, sigProxy: true, noStdin: !interactive})
				}
				return runAttached(cmd.Context(), ctr, foreground{keys: keys, sigProxy: true, stdinOnce: interactive, start: true})
			}
			return eachContainer(cmd, args, func(c *libpod.Container) error {
				_, err := c.Start(cmd.Context(), libpod.StartOptions{})
				var se *libpod.StartError
				if errors.As(err, &se) {
					return se.Err
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "attach STDOUT/STDERR and forward signals")
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "attach container's STDIN")
	cmd.Flags().StringVar(&detachKeys, "detach-keys", "", "override the key sequence for detaching a container")
	cmd.Flags().BoolVar(&all, "all", false, "start all the containers that are not running (see --filter)")
	cmd.Flags().StringArrayVarP(&filters, "filter", "f", nil, "start only the containers that match (id, name, label, status, restart-policy)")
	return cmd
}

func stopTimeout(cmd *cobra.Command, secs int, c *libpod.Container) time.Duration {
	if !cmd.Flags().Changed("time") {
		secs = c.StopTimeout
	}
	if secs < 0 {
		return -1
	}
	return time.Duration(secs) * time.Second
}

func newStopCommand() *cobra.Command {
	var secs int
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Args:  minArgs(1, "name the containers to stop"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(cmd, args, func(c *libpod.Container) error {
				return c.Stop(stopTimeout(cmd, secs, c))
			})
		},
	}
	cmd.Flags().IntVarP(&secs, "time", "t", 10, "seconds to wait before killing the container (default: the container's --stop-timeout, else 10)")
	return cmd
}

func newRestartCommand() *cobra.Command {
	var secs int
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  minArgs(1, "name the containers to restart"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(cmd, args, func(c *libpod.Container) error {
				err := c.Restart(cmd.Context(), stopTimeout(cmd, secs, c))
				var se *libpod.StartError
				if errors.As(err, &se) {
					return se.Err
				}
				return err
			})
		},
	}
	cmd.Flags().IntVarP(&secs, "time", "t", 10, "seconds to wait before killing the container")
	return cmd
}

func newKillCommand() *cobra.Command {
	var sigName string
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  minArgs(1, "name the containers to kill"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sig, err := parse.Signal(sigName)
			if err != nil {
				return usageError(cmd, err)
			}
			return eachContainer(cmd, args, func(c *libpod.Container) error { return c.Kill(sig) })
		},
	}
	cmd.Flags().StringVarP(&sigName, "signal", "s", "KILL", "signal to send to the container")
	return cmd
}

func newRmCommand() *cobra.Command {
	var force, volumes bool
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  minArgs(1, "name the containers to remove"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(cmd, args, func(c *libpod.Container) error {
				return c.RemoveWith(libpod.RemoveOptions{Force: force, Volumes: volumes})
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force the removal of a running container (uses SIGKILL)")
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "remove anonymous volumes associated with the container")
	return cmd
}

func newWaitCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  minArgs(1, "name the containers to wait for"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			failed := false
			for _, name := range args {
				c, err := rt.LookupContainer(name)
				if err == nil {
					var code int
					if code, err = c.Wait(cmd.Context()); err == nil {
						fmt.Fprintln(cmd.OutOrStdout(), code)
						continue
					}
				}
				fmt.Fprintln(os.Stderr, "Error:", err)
				failed = true
			}
			if failed {
				return &exitCodeError{code: 1}
			}
			return nil
		},
	}
	return cmd
}

func newExistsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "exists CONTAINER",
		Short: "Check if a container exists (exit 0 if it does, 1 if not)",
		Args:  exactArgs(1, "name the container"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			if _, err := rt.LookupContainer(args[0]); err != nil {
				if errors.Is(err, libpod.ErrNoSuchContainer) {
					return &exitCodeError{code: 1}
				}
				return err
			}
			return nil
		},
	}
}

// newCleanupCommand is what a monitor becomes after its container exited.
func newCleanupCommand() *cobra.Command {
	var run int
	cmd := &cobra.Command{
		Use:    "cleanup [--run N] CONTAINER",
		Hidden: true,
		Args:   exactArgs(1, "name the container"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			return rt.Cleanup(args[0], run)
		},
	}
	cmd.Flags().IntVar(&run, "run", 0, "the start this cleanup follows")
	return cmd
}

func init() {
	register("container", "start", "start", newStartCommand)
	register("container", "stop", "stop", newStopCommand)
	register("container", "restart", "restart", newRestartCommand)
	register("container", "kill", "kill", newKillCommand)
	register("container", "rm", "rm", newRmCommand, "remove")
	register("container", "wait", "wait", newWaitCommand)
	register("container", "exists", "", newExistsCommand)
	register("container", "cleanup", "", newCleanupCommand)
}
