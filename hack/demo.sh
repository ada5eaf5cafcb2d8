#!/usr/bin/env bash
# make demo: tug on this machine, offline. Builds an image from the machine's
# busybox-static, loads it into tug, and runs containers from it.
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
$tug rm -f tug-demo-ticker >/dev/null 2>&1 || true  # left by an interrupted demo
step $tug run -d --name tug-demo-ticker tug-demo/busybox sh -c 'while :; do date; sleep 1; done'
step $tug ps --filter name=tug-demo-ticker
sleep 2
step $tug logs --tail 2 tug-demo-ticker
step $tug rm -f tug-demo-ticker
step $tug run --rm tug-demo/busybox echo hello from a container
