#!/bin/sh
# Builds the image the Dockerfile starts from when no registry is reachable: a minimal
# Debian bookworm made by debootstrap from the Debian mirror, imported into podman.
#   deploy/base-image.sh [TAG]        (root; debootstrap and podman must be installed)
# With a registry, skip this and build with --build-arg BASE=debian:bookworm-slim.
set -eu
TAG=${1:-localhost/debian:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PODMAN=${PODMAN:-podman}
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
ROOT=$(mktemp -d "${TMPDIR:-/var/tmp}/tutor-base.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"
cat > "$ROOT/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main
SOURCES
# Package lists and downloaded .debs are not part of the image.
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/archives/*.deb
tar -C "$ROOT" --numeric-owner -c . | $PODMAN import --change 'CMD ["/bin/bash"]' - "$TAG"
