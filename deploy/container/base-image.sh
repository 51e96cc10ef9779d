#!/bin/sh
# Make the image's base, localhost/sellersync-base:bookworm, from Debian's own packages:
#
#     deploy/container/base-image.sh [TAG]          # root; needs debootstrap and podman
#
# No container registry is needed (these machines reach none): debootstrap installs Debian bookworm's
# minimal system (--variant=minbase: dpkg, apt and the essential packages) into a folder, which
# `podman import` turns into a one-layer image. Bookworm's python3 is 3.11, the interpreter of
# .python-version. The result is slim in the way Debian's "-slim" images are: dpkg is told never to
# install documentation, manual pages or translations, and apt never installs recommended packages.
set -eu

tag=${1:-localhost/sellersync-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

work=$(mktemp -d /var/tmp/sellersync-base.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
root="$work/rootfs"

debootstrap --variant=minbase bookworm "$root" "$mirror"

# debootstrap writes the release alone: add its updates and security fixes, which `apt-get install`
# in the Dockerfile then picks up.
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES
cat >"$root/etc/apt/apt.conf.d/90sellersync-slim" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
APT
cat >"$root/etc/dpkg/dpkg.cfg.d/90sellersync-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
DPKG
# What debootstrap already installed of those, and its package caches.
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/lintian" -mindepth 1 -delete 2>/dev/null || true
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/var/log/* "$root"/tmp/* "$root"/root/.cache

tar --numeric-owner -C "$root" -c . | podman import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    --message "debootstrap --variant=minbase bookworm $mirror" \
    - "$tag"
echo "$tag: Debian bookworm (minbase), $(du -sh "$root" | cut -f1)"
