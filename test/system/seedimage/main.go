// Command seedimage stores the test images straight into a tug store, for
// system tests that need images on a tug that cannot pull yet:
//
//	seedimage ROOT RUNROOT REGISTRY
//
// stores busybox, multilayer and config as REGISTRY/tug/NAME:latest. Run it
// inside tug's namespace (tug unshare) for a rootless store.
package main

import (
	"context"
	"fmt"
	"os"

	"go.podman.io/storage/pkg/reexec"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/test/testimages"
)

func main() {
	if reexec.Init() {
		return
	}
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: seedimage ROOT RUNROOT REGISTRY")
		os.Exit(2)
	}
	if err := seed(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "seedimage:", err)
		os.Exit(1)
	}
}

func seed(root, runRoot, registry string) error {
	rt, err := libpod.NewRuntime(libpod.Options{Root: root, RunRoot: runRoot})
	if err != nil {
		return err
	}
	defer rt.Shutdown()
	images, err := rt.Images()
	if err != nil {
		return err
	}
	all, err := testimages.Images()
	if err != nil {
		return err
	}
	for name, img := range all {
		ref := registry + "/tug/" + name + ":latest"
		if _, err := images.Commit(context.Background(), img, image.CreateOptions{Names: []string{ref}}); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}
