#!/usr/bin/env bash
# make bench: build tug, then time it against Podman (when installed) in one run.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec go run -tags exclude_graphdriver_btrfs ./hack/bench -tug bin/tug "$@"
