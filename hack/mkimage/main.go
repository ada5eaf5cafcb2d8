// Command mkimage writes one of the test images (built offline from the
// machine's busybox-static, see test/testimages) as a docker-archive that
// `tug load` reads: go run ./hack/mkimage -o busybox.tar -t busybox:latest busybox
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/tug-project/tug/test/testimages"
)

func main() {
	out := flag.String("o", "", "archive to write")
	tag := flag.String("t", "", "name:tag to give the image in the archive (default: IMAGE:latest)")
	flag.Parse()
	if flag.NArg() != 1 || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: mkimage -o FILE [-t NAME:TAG] busybox|multilayer|config")
		os.Exit(2)
	}
	images, err := testimages.Images()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	img, ok := images[flag.Arg(0)]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown image %q: choose busybox, multilayer or config\n", flag.Arg(0))
		os.Exit(2)
	}
	if *tag == "" {
		*tag = flag.Arg(0) + ":latest"
	}
	ref, err := name.NewTag(*tag)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := tarball.WriteToFile(*out, ref, img); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
