#!/bin/sh
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Install the Debian packages segd needs to build, test and run its soft-RoCE tier.
# Idempotent: installs only what is missing. Runs apt-get as root or through sudo.
set -eu

PKGS="build-essential pkg-config libevent-dev check libfuse3-dev fuse3
libibverbs-dev librdmacm-dev rdma-core ibverbs-providers ibverbs-utils
rdmacm-utils perftest qemu-system-x86 linux-image-amd64 busybox-static
kmod iproute2 valgrind cpio xz-utils zstd libsystemd-dev systemd clang
python3 bsdutils man-db rsync fio libssl-dev"
# `sh tests/setup.sh deb`: also what make check-deb needs
if [ "${1:-}" = deb ]; then
	PKGS="$PKGS debhelper dpkg-dev fakeroot debootstrap lintian"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "setup: all packages present"
	exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "setup: need root or sudo to install:$missing" >&2
	exit 1
fi
echo "setup: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
