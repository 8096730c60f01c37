#!/usr/bin/env bash
# A local stand-in for python:3.11-slim, for building the Dockerfile where no registry is reachable: Debian
# bookworm (debootstrap --variant=minbase) plus python3 and python3-venv, and no compiler (debootstrap installs
# Depends only, never Recommends, so python3-venv brings no gcc). Prints the path of a root filesystem tarball.
#
# The tarball is cached under /var/cache/rotator-image/, keyed by the sha256 of this script: editing the script
# (the package list, the suite, the clean-up) makes a new one; an unchanged script reuses it. It is written to a
# temporary name and renamed only when complete, so an interrupted run never leaves a half tarball behind.
# Delete the directory to force a fresh debootstrap (e.g. to pick up Debian point-release updates).
set -euo pipefail

SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=python3,python3-venv
CACHE=${ROTATOR_IMAGE_CACHE:-/var/cache/rotator-image}

key=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
tarball="$CACHE/base-$SUITE-$key.tar"
if [ -s "$tarball" ]; then
  echo "$tarball"
  exit 0
fi

mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase --include="$PACKAGES" --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
  "$SUITE" "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -n 20 "$work/debootstrap.log" >&2
  echo "image/base.sh: debootstrap of $SUITE from $MIRROR failed" >&2
  exit 1
}
# What a slim image leaves out: downloaded .debs, package lists, logs.
rm -rf "$work/root"/var/cache/apt/archives/*.deb "$work/root"/var/lib/apt/lists/* "$work/root"/var/log/*
tar --numeric-owner --xattrs -C "$work/root" -cf "$work/base.tar" .
rm -f "$CACHE"/base-"$SUITE"-*.tar # older keys: this script changed since
mv "$work/base.tar" "$tarball"
echo "$tarball"
