#!/usr/bin/env bash
# Install the Debian packages that tests/support/ceph_rgw.py needs to run a real S3
# server (Ceph RADOS Gateway) on loopback. The cluster itself is started by the tests.
#   tests/support/ceph-rgw.sh install   exit 0 when the programs are there afterwards
#   tests/support/ceph-rgw.sh check     exit 0 when they are already installed
set -euo pipefail

PACKAGES=(ceph-mon ceph-osd radosgw ceph-common)
PROGRAMS=(ceph ceph-mon ceph-osd monmaptool radosgw radosgw-admin)

missing_programs() {
    local program
    for program in "${PROGRAMS[@]}"; do
        command -v "$program" >/dev/null || echo "$program"
    done
}

APT_LOG="$(mktemp)"
trap 'rm -f "$APT_LOG"' EXIT

cannot() {
    echo "ceph-rgw: cannot install Ceph RGW: $1" >&2
    [ -s "$APT_LOG" ] && tail -n 5 "$APT_LOG" >&2
    echo "ceph-rgw: install these Debian packages by hand: ${PACKAGES[*]}" >&2
    exit 2
}

install() {
    [ -z "$(missing_programs)" ] && { echo "ceph-rgw: already installed"; return 0; }
    command -v apt-get >/dev/null || cannot "apt-get not found (not a Debian/Ubuntu system)"
    [ "$(id -u)" = 0 ] || cannot "not root (apt-get install needs root)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >"$APT_LOG" 2>&1 || cannot "apt-get update failed"
    apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >"$APT_LOG" 2>&1 \
        || cannot "apt-get install ${PACKAGES[*]} failed"
    local still_missing
    still_missing="$(missing_programs | tr '\n' ' ')"
    [ -z "$still_missing" ] || cannot "installed, but still missing: $still_missing"
    echo "ceph-rgw: installed ${PACKAGES[*]}"
}

check() {
    local missing
    missing="$(missing_programs | tr '\n' ' ')"
    [ -z "$missing" ] && { echo "ceph-rgw: installed"; return 0; }
    echo "ceph-rgw: missing programs: $missing(packages: ${PACKAGES[*]})" >&2
    return 1
}

case "${1:-}" in
    install) install ;;
    check) check ;;
    *) echo "usage: $0 install|check" >&2; exit 64 ;;
esac
