package main

import (
	"fmt"
	"io"
	goruntime "runtime"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/pkg/format"
)

// Set at build time with -ldflags "-X main.version=... -X main.gitCommit=... -X main.buildTime=...".
var (
	version   = "0.1.0-dev"
	gitCommit = "unknown"
	buildTime = ""
)

// apiVersion is the Docker API level whose behaviour tug follows.
const apiVersion = "1.41"

type versionInfo struct {
	Version    string
	APIVersion string
	GoVersion  string
	GitCommit  string
	Built      string
	OsArch     string
}

type versionReport struct {
	Client versionInfo
	Server versionInfo
}

func currentVersion() versionInfo {
	return versionInfo{
		Version:    version,
		APIVersion: apiVersion,
		GoVersion:  goruntime.Version(),
		GitCommit:  gitCommit,
		Built:      buildTime,
		OsArch:     goruntime.GOOS + "/" + goruntime.GOARCH,
	}
}

func printShortVersion(w io.Writer) error {
	_, err := fmt.Fprintf(w, "tug version %s, build %s\n", version, gitCommit)
	return err
}

func newVersionCommand() *cobra.Command {
	var tmpl string
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the tug version information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// tug has no daemon: the engine is this binary, so both halves agree.
			rep := versionReport{Client: currentVersion(), Server: currentVersion()}
			if tmpl != "" {
				return format.Execute(cmd.OutOrStdout(), tmpl, rep)
			}
			return writeVersion(cmd.OutOrStdout(), rep)
		},
	}
	cmd.Flags().StringVarP(&tmpl, "format", "f", "", "format the output with a Go template (json for JSON)")
	return cmd
}

func writeVersion(w io.Writer, rep versionReport) error {
	block := func(indent string, v versionInfo) {
		fmt.Fprintf(w, "%sVersion:           %s\n", indent, v.Version)
		fmt.Fprintf(w, "%sAPI version:       %s\n", indent, v.APIVersion)
		fmt.Fprintf(w, "%sGo version:        %s\n", indent, v.GoVersion)
		fmt.Fprintf(w, "%sGit commit:        %s\n", indent, v.GitCommit)
		if v.Built != "" {
			fmt.Fprintf(w, "%sBuilt:             %s\n", indent, v.Built)
		}
		fmt.Fprintf(w, "%sOS/Arch:           %s\n", indent, v.OsArch)
	}
	fmt.Fprintln(w, "Client:")
	block(" ", rep.Client)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Server: tug Engine (daemonless)")
	fmt.Fprintln(w, " Engine:")
	block("  ", rep.Server)
	_, err := fmt.Fprintln(w, "  Experimental:      false")
	return err
}

func init() {
	register("", "", "version", newVersionCommand)
}
