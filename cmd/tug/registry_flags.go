package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/progress"
)

// registryFlags are the flags of every command that talks to a registry.
type registryFlags struct {
	tlsVerify bool
	authFile  string
	creds     string
}

func (f *registryFlags) add(cmd *cobra.Command, withCreds bool) {
	fl := cmd.Flags()
	fl.BoolVar(&f.tlsVerify, "tls-verify", true, "require HTTPS with a verified certificate (default: true, except for localhost and the config's insecure registries)")
	fl.StringVar(&f.authFile, "authfile", "", "credentials file (default $REGISTRY_AUTH_FILE, else ~/.config/tug/auth.json)")
	if withCreds {
		fl.StringVar(&f.creds, "creds", "", "credentials USER[:PASSWORD] for the registry (prompts for a missing password on a terminal)")
	}
}

// options turns the flags into the engine's options, prompting for a
// --creds password left out.
func (f *registryFlags) options(cmd *cobra.Command) (image.RegistryOptions, error) {
	ro := image.RegistryOptions{AuthFile: f.authFile, UserAgent: "tug/" + version}
	if cmd.Flags().Changed("tls-verify") {
		v := f.tlsVerify
		ro.TLSVerify = &v
	}
	if f.creds != "" {
		user, pass, ok := strings.Cut(f.creds, ":")
		if user == "" {
			return ro, usageError(cmd, errors.New("--creds needs a user name: use --creds USER[:PASSWORD]"))
		}
		if !ok {
			p, err := promptPassword(cmd)
			if err != nil {
				return ro, err
			}
			pass = p
		}
		ro.Creds = &image.Credentials{Username: user, Password: pass}
	}
	return ro, nil
}

func stdinIsTerminal() bool { return isatty.IsTerminal(os.Stdin.Fd()) }

func stdoutIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// promptLine asks for a line on the terminal.
func promptLine(cmd *cobra.Command, prompt string) (string, error) {
	if !stdinIsTerminal() {
		return "", errors.New("cannot perform an interactive login from a non TTY device")
	}
	fmt.Fprint(cmd.OutOrStdout(), prompt)
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading %s: %w", strings.TrimSuffix(strings.TrimSpace(prompt), ":"), err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// promptPassword asks for a password on the terminal, without echo.
func promptPassword(cmd *cobra.Command) (string, error) {
	if !stdinIsTerminal() {
		return "", errors.New("cannot perform an interactive login from a non TTY device: give the password with --password-stdin")
	}
	fmt.Fprint(cmd.OutOrStdout(), "Password: ")
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(cmd.OutOrStdout())
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	return string(b), nil
}

// progressFor picks Docker's output for a transfer: nothing with -q, live
// bars on a terminal, plain lines otherwise. Call the returned func when done.
func progressFor(w io.Writer, quiet bool) (progress.Reporter, func()) {
	switch {
	case quiet:
		return progress.Discard, func() {}
	case stdoutIsTerminal(w):
		b := progress.Bars(w)
		return b, b.Close
	default:
		return progress.Lines(w), func() {}
	}
}

// interruptible is a context that ends on Ctrl-C or SIGTERM. After the first
// signal the default action is back, so a second Ctrl-C kills at once.
func interruptible(parent context.Context) (ctx context.Context, interrupted func() os.Signal, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var got os.Signal
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case got = <-sigs:
			signal.Stop(sigs)
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() os.Signal {
			if ctx.Err() == nil {
				return nil
			}
			<-done
			return got
		}, func() {
			signal.Stop(sigs)
			cancel()
			<-done
		}
}

// interruptedError is how a command stopped by a signal exits: 128+signal, as a shell reports it.
func interruptedError(sig os.Signal, what string) error {
	code := 130
	if s, ok := sig.(syscall.Signal); ok {
		code = 128 + int(s)
	}
	return &exitCodeError{code: code, msg: what}
}

// requireArgs is cobra's ExactArgs/RangeArgs with Docker's wording.
func requireArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= min && len(args) <= max {
			return nil
		}
		switch {
		case min == max:
			return usageError(cmd, fmt.Errorf("%q requires exactly %d %s", cmd.CommandPath(), min, plural(min, "argument")))
		case len(args) < min:
			return usageError(cmd, fmt.Errorf("%q requires at least %d %s", cmd.CommandPath(), min, plural(min, "argument")))
		default:
			return usageError(cmd, fmt.Errorf("%q accepts at most %d %s", cmd.CommandPath(), max, plural(max, "argument")))
		}
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
