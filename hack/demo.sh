#!/usr/bin/env bash
# make demo: tug on this machine, offline. Builds an image from the machine's
# busybox-static, loads it into tug and uses it.
set -euo pipefail
cd "$(dirname "$0")/.."
tug=bin/tug
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "Building a busybox image from $(command -v busybox) (offline)..."
go run ./hack/mkimage -o "$work/busybox.tar" -t tug-demo/busybox:latest busybox
step $tug version --format 'tug {{.Client.Version}} ({{.Client.OsArch}})'
step $tug load -i "$work/busybox.tar"
step $tug images
step $tug image inspect --format '{{.Id}} {{.Config.Cmd}} {{.Architecture}}' tug-demo/busybox
step $tug history tug-demo/busybox
