#!/usr/bin/env bash
# Installs the Debian packages that building and testing tug need. As root it
# installs what is missing; as another user it only reports what is missing.
set -euo pipefail
pkgs=(gcc make git pkg-config libsqlite3-dev libseccomp-dev docker-registry busybox-static skopeo podman
      uidmap fuse-overlayfs slirp4netns runc iproute2 curl util-linux procps hyperfine
      xz-utils bzip2 gzip bsdutils diffutils
      libbtrfs-dev)  # lets a plain `go test ./...` (without the Makefile tags) compile the storage library
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing packages (install them as root): ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
