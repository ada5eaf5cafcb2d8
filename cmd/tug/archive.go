package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/tug-project/tug/pkg/format"
	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/parse"
)

// Image archives: load, save, import.

func init() {
	register("image", "load", "load", newLoadCommand)
	register("image", "save", "save", newSaveCommand)
	register("image", "import", "import", newImportCommand)
}

func newLoadCommand() *cobra.Command {
	var input string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load an image from a tar archive or STDIN",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var src io.Reader = cmd.InOrStdin()
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					return err
				}
				defer f.Close()
				src = f
			} else if f, ok := src.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
				return usageError(cmd, fmt.Errorf("requested load from stdin, but stdin is empty: give an archive with -i FILE or on stdin"))
			}
			ir, err := imageRuntime()
			if err != nil {
				return err
			}
			opts := image.LoadOptions{}
			out := cmd.OutOrStdout()
			if f, ok := out.(*os.File); ok && !quiet && isatty.IsTerminal(f.Fd()) {
				opts.Progress = func(diffID string, size int64) {
					fmt.Fprintf(out, "Loading layer %s  %s\n", shortImageID(diffID, false), format.Size(size))
				}
			}
			loaded, err := ir.LoadWith(context.Background(), src, opts)
			if err != nil {
				return err
			}
			for _, l := range loaded {
				if len(l.Names) == 0 {
					fmt.Fprintf(out, "Loaded image ID: sha256:%s\n", l.ID)
				}
				for _, n := range l.Names {
					fmt.Fprintf(out, "Loaded image: %s\n", image.Familiar(n))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "read from tar archive file, instead of STDIN")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "suppress the load output (the per-layer progress)")
	return cmd
}

func newSaveCommand() *cobra.Command {
	var output, archiveFormat string
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  minArgs(1, "name the images to save"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if archiveFormat != image.FormatDockerArchive && archiveFormat != image.FormatOCIArchive {
				return usageError(cmd, fmt.Errorf("unknown --format %q: use %s or %s", archiveFormat, image.FormatDockerArchive, image.FormatOCIArchive))
			}
			out := cmd.OutOrStdout()
			if output == "" {
				if f, ok := out.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
					return errors.New("Cowardly refusing to save to a terminal. Use the -o flag or redirect.")
				}
			}
			for _, a := range args {
				if _, err := parse.ParseReference(a); err != nil && !isHexString(strings.TrimPrefix(a, "sha256:")) {
					return err
				}
			}
			ir, err := imageRuntime()
			if err != nil {
				return err
			}
			items, err := ir.SaveItems(args)
			if err != nil {
				return imageErr(err)
			}
			if output == "" {
				return ir.Save(context.Background(), out, items, archiveFormat)
			}
			return saveToFile(output, func(w io.Writer) error { return ir.Save(context.Background(), w, items, archiveFormat) })
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to a file, instead of STDOUT")
	cmd.Flags().StringVar(&archiveFormat, "format", image.FormatDockerArchive, "archive format: docker-archive or oci-archive")
	return cmd
}

func isHexString(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// saveToFile writes through a temporary file renamed into place, so a failed
// save leaves no half archive under the name.
func saveToFile(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func newImportCommand() *cobra.Command {
	var changes []string
	var message, platform string
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError(cmd, fmt.Errorf("%q requires 1 or 2 arguments: a tarball (file, URL or - for stdin) and an optional REPOSITORY[:TAG]", cmd.CommandPath()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := image.ImportOptions{Changes: changes, Message: message, Platform: platform, Source: "-"}
			if len(args) == 2 {
				ref, err := parse.ParseReference(args[1])
				if err != nil {
					return err
				}
				if ref.Digest() != "" {
					return fmt.Errorf("refusing to create a tag with a digest reference: %s", args[1])
				}
				opts.Name = ref.String()
			}
			// Refuse bad --change and --platform values before reading anything.
			if err := opts.Check(); err != nil {
				return err
			}
			src, closeSrc, err := openImportSource(cmd, args[0])
			if err != nil {
				return err
			}
			defer closeSrc()
			if strings.HasPrefix(args[0], "http://") || strings.HasPrefix(args[0], "https://") {
				opts.Source = args[0]
			}
			ir, err := imageRuntime()
			if err != nil {
				return err
			}
			img, err := ir.Import(context.Background(), src, opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sha256:%s\n", img.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&changes, "change", "c", nil, "apply Dockerfile instruction to the created image (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)")
	f.StringVarP(&message, "message", "m", "", "set commit message for imported image")
	f.StringVar(&platform, "platform", "", "set the image's platform (os[/arch[/variant]], default this machine's)")
	return cmd
}

// importTimeout bounds an import download that stops sending.
const importTimeout = 30 * time.Minute

// openImportSource opens import's source: "-" is stdin, http(s) URLs are
// fetched, anything else is a local file.
func openImportSource(cmd *cobra.Command, src string) (io.Reader, func(), error) {
	switch {
	case src == "-":
		in := cmd.InOrStdin()
		if f, ok := in.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			return nil, nil, fmt.Errorf("import from - needs a tarball on stdin, but stdin is a terminal")
		}
		return in, func() {}, nil
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		client := &http.Client{Timeout: importTimeout}
		resp, err := client.Get(src)
		if err != nil {
			return nil, nil, fmt.Errorf("downloading %s: %w", src, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, nil, fmt.Errorf("downloading %s: %s", src, resp.Status)
		}
		return resp.Body, func() { resp.Body.Close() }, nil
	default:
		f, err := os.Open(src)
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	}
}
