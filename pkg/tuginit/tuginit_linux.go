// Package tuginit is the init of `tug run --init`: a minimal PID 1 that
// forwards signals to the container's command, reaps the orphans it
// inherits, and exits with the command's code (as Docker's docker-init).
//
// It is built into tug rather than put into the container: tug is
// dynamically linked (cgo), and an image need not have the C library it
// needs. Instead the init is forked, in C, by the container's own init
// process right after runc's nsexec has made the namespaces and before the
// Go runtime starts: the parent stays as PID 1 (from tug's memory, needing
// no file of the image) and the child goes on as libcontainer's init, which
// sets the container up and executes the command. pkg/oci asks for it by
// leaving the file MarkerFile in the container's runtime state directory.
package tuginit

/*
#cgo CFLAGS: -Wall
#include "tuginit_linux.h"
*/
import "C"

import (
	// nsexec, which the init runs after (and imports first, so that its
	// constructor comes first in the binary).
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// MarkerFile, in libcontainer's state directory of a container, asks its
// init process to fork the reaping init.
const MarkerFile = C.TUG_INIT_MARKER
