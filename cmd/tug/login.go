package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/pkg/image"
)

func init() {
	register("", "", "login", newLoginCommand)
	register("", "", "logout", newLogoutCommand)
}

// defaultServer is the registry login and logout use without SERVER.
const defaultServer = "docker.io"

func newLoginCommand() *cobra.Command {
	var (
		username, password string
		passwordStdin      bool
		reg                registryFlags
	)
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry",
		Args:  requireArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := defaultServer
			if len(args) == 1 {
				server = args[0]
			}
			out := cmd.OutOrStdout()
			if password != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
				if passwordStdin {
					return usageError(cmd, errors.New("--password and --password-stdin are mutually exclusive"))
				}
			}
			if passwordStdin && username == "" {
				return usageError(cmd, errors.New("Must provide --username with --password-stdin"))
			}
			// Into the user namespace before reading stdin or prompting: the
			// first rootless call re-executes tug, and what this process read
			// would be lost to the next.
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			if passwordStdin {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("reading the password from stdin: %w", err)
				}
				password = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
			}
			ro, err := reg.options(cmd)
			if err != nil {
				return err
			}
			ctx, interrupted, stop := interruptible(cmd.Context())
			defer stop()
			// Like Docker: with nothing given, try the credentials already stored.
			if username == "" && password == "" {
				if creds, ok, err := image.StoredCredentials(server, ro); err != nil {
					return err
				} else if ok && creds.Username != "" {
					fmt.Fprintln(out, "Authenticating with existing credentials...")
					if err := image.CheckCredentials(ctx, rt.Config, server, creds, ro); err == nil {
						fmt.Fprintln(out, "Login Succeeded")
						return nil
					} else if !stdinIsTerminal() {
						return err
					}
				}
			}
			if username == "" {
				if username, err = promptLine(cmd, "Username: "); err != nil {
					return err
				}
				if username = strings.TrimSpace(username); username == "" {
					return errors.New("Non-null Username Required")
				}
			}
			if password == "" && !passwordStdin {
				if password, err = promptPassword(cmd); err != nil {
					return err
				}
			}
			if password == "" {
				return errors.New("Password Required")
			}
			_, err = image.Login(ctx, rt.Config, server, image.Credentials{Username: username, Password: password}, ro)
			if sig := interrupted(); sig != nil {
				return interruptedError(sig, "login interrupted: nothing was saved")
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "Login Succeeded")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&username, "username", "u", "", "user name")
	fl.StringVarP(&password, "password", "p", "", "password (insecure: it shows in the process list; prefer --password-stdin)")
	fl.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	reg.add(cmd, false)
	return cmd
}

func newLogoutCommand() *cobra.Command {
	var (
		all      bool
		authFile string
	)
	cmd := &cobra.Command{
		Use:   "logout [OPTIONS] [SERVER]",
		Short: "Log out from a registry",
		Args:  requireArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if all {
				if len(args) > 0 {
					return usageError(cmd, errors.New("--all/-a takes no SERVER"))
				}
				servers, err := image.LogoutAll(authFile)
				if err != nil {
					return err
				}
				for _, s := range servers {
					fmt.Fprintf(out, "Removing login credentials for %s\n", s)
				}
				return nil
			}
			server := defaultServer
			if len(args) == 1 {
				server = args[0]
			}
			res, err := image.Logout(server, authFile)
			if err != nil {
				return err
			}
			display := image.DisplayServer(server)
			switch {
			case res.Removed:
				fmt.Fprintf(out, "Removing login credentials for %s\n", display)
			case res.InDockerConfig:
				return fmt.Errorf("not logged in to %s with tug: the credentials tug uses come from Docker's config (%s); remove them with docker logout", display, image.DockerConfigFile())
			default:
				fmt.Fprintf(out, "Not logged in to %s\n", display)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove the credentials of every registry from the auth file")
	cmd.Flags().StringVar(&authFile, "authfile", "", "credentials file (default $REGISTRY_AUTH_FILE, else ~/.config/tug/auth.json)")
	return cmd
}
