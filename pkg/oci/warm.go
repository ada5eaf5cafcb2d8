package oci

import (
	"encoding/json"

	"github.com/opencontainers/runc/libcontainer/configs"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// encoding/json builds its per-type tables on a type's first use, which
// for the OCI spec and libcontainer's config costs a short-lived process
// about 1 ms each. A process that waits anyway (the monitor before its go)
// or has a core to spare (the CLI) builds them ahead. The decoder shares
// the encoder's field tables.

// WarmSpecJSON builds the OCI spec's tables (the CLI encodes the spec).
func WarmSpecJSON() { json.Marshal(&rspec.Spec{}) }

// WarmJSON builds the tables of the spec and of libcontainer's config (the
// monitor decodes the one and encodes the other for the init).
func WarmJSON() {
	WarmSpecJSON()
	json.Marshal(&configs.Config{})
}
