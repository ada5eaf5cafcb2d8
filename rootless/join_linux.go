package rootless

/*
#include <stdlib.h>
#include "join_linux.h"
*/
import "C"

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"
)

// joinEnv and pauseModeEnv are the constructor's inputs (join_linux.h).
const (
	joinEnv      = C.TUG_JOIN_ENV
	pauseModeEnv = C.TUG_PAUSE_ENV
	pauseName    = C.PAUSE_NAME
	// attemptEnv counts Enter's re-executions, so a join that keeps failing
	// ends in an error instead of a loop.
	attemptEnv = "_TUG_ROOTLESS_ATTEMPT"
)

// The constructor changes the C environment, which Go does not read after
// start-up: carry what it did into Go's environment, so that this process
// and its children know they are inside.
func init() {
	if C.tug_joined != 0 {
		uid, gid := strconv.Itoa(int(C.tug_joined_uid)), strconv.Itoa(int(C.tug_joined_gid))
		os.Setenv(uidEnv, uid)
		os.Setenv(gidEnv, gid)
		os.Setenv(containersUsernsEnv, "done")
		os.Setenv(containersUIDEnv, uid)
		os.Setenv(containersGIDEnv, gid)
		// Absolute, for children that work elsewhere (the C side saw the
		// same working directory as Go does now).
		pidFile, err := filepath.Abs(C.GoString(C.tug_joined_pidfile()))
		if err != nil {
			pidFile = C.GoString(C.tug_joined_pidfile())
		}
		os.Setenv(pauseEnv, pidFile)
		if C.tug_joined_single != 0 {
			os.Setenv(singleIDEnv, "1")
		} else {
			os.Unsetenv(singleIDEnv)
		}
		os.Unsetenv(joinEnv)
		os.Unsetenv(attemptEnv)
		return
	}
	if os.Getenv(uidEnv) != "" && (os.Geteuid() != 0 || inInitialUserNS()) {
		// Markers that leaked out of the namespace (a non-root process, or
		// real root in the host's namespace): they are not true here.
		clearMarkers()
	}
}

// inInitialUserNS reports whether this process sees the whole ID space, as
// in the host's user namespace.
func inInitialUserNS() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(data))
	return len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295"
}

// joinError is why the join Enter asked the constructor for did not happen.
func joinError() string { return C.GoString(C.tug_join_error()) }

// ConstructorValueFlags lists the global flags that the constructor knows
// to take a value; each global flag of tug that takes one must be in it, or
// the constructor would take its value for the command (cmd/tug tests this).
func ConstructorValueFlags() []string {
	var flags []string
	for i := 0; C.tug_value_flag(C.int(i)) != nil; i++ {
		flags = append(flags, C.GoString(C.tug_value_flag(C.int(i))))
	}
	return flags
}

// constructorPidFile is the constructor's reading of a command line: the pid
// file it would join, or ok=false when it would not try. For tests.
func constructorPidFile(args []string) (path string, ok bool) {
	argv := make([]*C.char, len(args)+1)
	for i, a := range args {
		argv[i] = C.CString(a)
		defer C.free(unsafe.Pointer(argv[i]))
	}
	out := (*C.char)(C.malloc(4096))
	defer C.free(unsafe.Pointer(out))
	if C.tug_pidfile_from_args(C.int(len(args)), &argv[0], out, 4096) == 0 {
		return "", false
	}
	return C.GoString(out), true
}
