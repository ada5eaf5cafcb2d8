//go:build tugshim

package main

import (
	_ "embed"

	"github.com/tug-project/tug/pkg/shim"
)

// The tug-shim binary and its SHA-256, built by the Makefile (bin/tug) into
// cmd/tug/shim/ before tug: see pkg/shim.
var (
	//go:embed shim/tug-shim
	shimBinary []byte
	//go:embed shim/tug-shim.sha256
	shimChecksum string
)

func init() { shim.Register(shimBinary, shimChecksum) }
