package main

import (
	"fmt"
	"io"
	"strings"

	units "github.com/docker/go-units"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/format"
)

func init() {
	register("system", "info", "info", newInfoCommand)
}

// infoReport is `tug info --format`'s data: the server's fields at the top
// level, as in Docker (`{{.ServerVersion}}`, `{{.Driver}}`), plus the client's.
type infoReport struct {
	*libpod.Info
	ClientInfo clientInfo
}

type clientInfo struct {
	Version string
	Debug   bool
}

func newInfoCommand() *cobra.Command {
	var tmpl string
	cmd := &cobra.Command{
		Use:   "info [OPTIONS]",
		Short: "Display system-wide information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if tmpl != "" && tmpl != "json" {
				if _, err := format.Parse(tmpl); err != nil {
					return err
				}
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			debug := logrus.GetLevel() >= logrus.DebugLevel
			info, err := rt.Info(version, debug)
			if err != nil {
				return err
			}
			rep := infoReport{Info: info, ClientInfo: clientInfo{Version: version, Debug: debug}}
			if tmpl != "" {
				return format.Execute(cmd.OutOrStdout(), tmpl, rep)
			}
			return writeInfo(cmd.OutOrStdout(), rep)
		},
	}
	cmd.Flags().StringVarP(&tmpl, "format", "f", "", "format the output with a Go template ('json' for JSON)")
	return cmd
}

// writeInfo prints the report in Docker's layout: "Client:" and "Server:"
// blocks of "Key: value" lines, lists indented under their key.
func writeInfo(w io.Writer, rep infoReport) error {
	i := rep.Info
	p := func(indent int, key string, v any) {
		fmt.Fprintf(w, "%s%s: %v\n", strings.Repeat(" ", indent), key, v)
	}
	list := func(key string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(w, " %s:\n", key)
		for _, it := range items {
			fmt.Fprintf(w, "  %s\n", it)
		}
	}
	fmt.Fprintln(w, "Client:")
	p(1, "Version", rep.ClientInfo.Version)
	p(1, "Debug Mode", rep.ClientInfo.Debug)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Server:")
	p(1, "Containers", i.Containers)
	p(2, "Running", i.ContainersRunning)
	p(2, "Paused", i.ContainersPaused)
	p(2, "Stopped", i.ContainersStopped)
	p(1, "Images", i.Images)
	p(1, "Server Version", i.ServerVersion)
	p(1, "Storage Driver", i.Driver)
	for _, kv := range i.DriverStatus {
		p(2, kv[0], kv[1])
	}
	p(1, "Logging Driver", i.LoggingDriver)
	p(1, "Cgroup Driver", i.CgroupDriver)
	p(1, "Cgroup Version", i.CgroupVersion)
	p(1, "Swarm", i.Swarm.LocalNodeState)
	p(1, "Rootless", i.Rootless)
	if len(i.SecurityOptions) > 0 {
		fmt.Fprintln(w, " Security Options:")
		for _, opt := range i.SecurityOptions {
			for n, kv := range strings.Split(opt, ",") {
				k, v, _ := strings.Cut(kv, "=")
				if n == 0 && k == "name" {
					fmt.Fprintf(w, "  %s\n", v)
				} else {
					fmt.Fprintf(w, "   %s: %s\n", strings.ToUpper(k[:1])+k[1:], v)
				}
			}
		}
	}
	p(1, "Kernel Version", i.KernelVersion)
	p(1, "Operating System", i.OperatingSystem)
	p(1, "OSType", i.OSType)
	p(1, "Architecture", i.Architecture)
	p(1, "CPUs", i.NCPU)
	p(1, "Total Memory", units.BytesSize(float64(i.MemTotal)))
	p(1, "Name", i.Name)
	if i.ID != "" {
		p(1, "ID", i.ID)
	}
	p(1, "Root Dir", i.DockerRootDir)
	p(1, "Run Root Dir", i.RunRoot)
	p(1, "Debug Mode", i.Debug)
	p(1, "Experimental", i.Experimental)
	list("Insecure Registries", append(append([]string(nil), i.RegistryConfig.InsecureRegistries...), i.RegistryConfig.InsecureRegistryCIDRs...))
	list("Registry Mirrors", i.RegistryConfig.Mirrors)
	list("Registries", i.RegistryConfig.Search)
	return nil
}
