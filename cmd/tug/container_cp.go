package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/format"
	"github.com/tug-project/tug/pkg/parse"
)

func newCpCommand() *cobra.Command {
	var o libpod.CopyOptions
	var quiet bool
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-",
		Short: "Copy files/folders between a container and the local filesystem",
		Long: "Copy files/folders between a container and the local filesystem, either way:\n" +
			"  cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n" +
			"Use '-' as the source to read a tar archive from stdin and extract it to a directory\n" +
			"in the container, or as the destination to write a tar archive of the source to stdout.",
		Args: exactArgs(2, "a source and a destination, one of them CONTAINER:PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			srcCtr, srcPath := parse.CopyArg(args[0])
			dstCtr, dstPath := parse.CopyArg(args[1])
			switch {
			case srcCtr != "" && dstCtr != "":
				return usageError(cmd, errors.New("copying between containers is not supported"))
			case srcCtr == "" && dstCtr == "":
				return usageError(cmd, errors.New("must specify at least one container source"))
			case srcPath == "" || dstPath == "":
				return usageError(cmd, errors.New("path cannot be empty: use CONTAINER:/ for the container's root"))
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			name := srcCtr
			if name == "" {
				name = dstCtr
			}
			ctr, err := rt.LookupContainer(name)
			if err != nil {
				return notFound(err)
			}
			o.Stdin, o.Stdout = os.Stdin, os.Stdout
			var n int64
			var where string
			if srcCtr != "" {
				n, err = ctr.CopyFromContainer(srcPath, dstPath, o)
				where = dstPath
			} else {
				n, err = ctr.CopyToContainer(srcPath, dstPath, o)
				where = args[1]
			}
			var refused *libpod.RefusedError
			if errors.As(err, &refused) {
				return &exitCodeError{code: 1, msg: refused.Msg}
			}
			if err != nil {
				return err
			}
			// Docker reports the size only to a person watching.
			if !quiet && where != "-" && term.IsTerminal(int(os.Stderr.Fd())) {
				fmt.Fprintf(os.Stderr, "Successfully copied %s to %s\n", format.HumanSize(n), where)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.Archive, "archive", "a", false, "archive mode (copy all uid/gid information)")
	fl.BoolVarP(&o.FollowLink, "follow-link", "L", false, "always follow symbol link in SRC_PATH")
	fl.BoolVarP(&quiet, "quiet", "q", false, "suppress progress output during copy (it is shown only on a terminal)")
	return cmd
}

func init() {
	register("container", "cp", "cp", newCpCommand)
}
