#!/usr/bin/env bash
# Benchmark of sharded builds sharing a remote cache (issue 19), in one run, for two manifests:
# the offline example (three fixture projects) and the real-world corpus (corpus/wrap.toml:
# keystone, nova, neutron, glance, oslo.config, python-openstackclient and a pbr fixture, from
# their PyPI sdists). For each:
#  1. one box, cold (empty cache), builds every project: the reference;
#  2. three runners, each with an empty cache of its own, build the shards of
#     `wrap plan --matrix --shards 3` against one empty remote (a directory, file://), one
#     after the other on this machine: each shard's wall time is what its own machine would take;
#  3. a fourth runner with an empty cache builds the whole manifest against the now warm remote:
#     every artifact is downloaded and checked, nothing is built;
#  4. a fifth runner with an empty cache rebuilds everything (--rebuild) against that remote:
#     the one box's work, with the pycs from the remote's bytecode packs.
# Reports the slowest shard / one box (the wall-time ratio a 3-runner pipeline gets) and the
# fourth runner / one box (target: at most 0.1), that what the fourth runner got is what the
# shards built, byte for byte (and which artifacts two cold builds do not reproduce), and the
# fifth runner / one box.
#
# Usage: bench/remote.sh [WORKDIR]   (network to PyPI for the corpus; uv on PATH)
#        CORPUS=0 skips the corpus (offline example only).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(realpath -m "${1:-$root/target/bench-remote}")
cargo build --quiet --release --locked --manifest-path "$root/Cargo.toml"
wrap="$root/target/release/wrap"
command -v uv > /dev/null || { echo "uv is not on PATH" >&2; exit 2; }
rm -rf "$work" && mkdir -p "$work"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# bench NAME MANIFEST_DIR FORMATS [WRAP GLOBAL OPTIONS...]
bench() {
    local name=$1 src=$2 formats=$3; shift 3
    local dir=$work/$name
    local globals=("$@")
    mkdir -p "$dir"
    # runner N: a copy of the manifest's directory with a cache of its own.
    runner() { rm -rf "$dir/$1"; cp -a "$src" "$dir/$1"; rm -rf "$dir/$1/dist"; }
    build() { # build RUNNER [BUILD ARGS...]: prints the wall time
        local r=$1; shift
        local started; started=$(now)
        # shellcheck disable=SC2086
        WRAP_CACHE="$dir/$r/.cache" "$wrap" -m "$dir/$r/wrap.toml" "${globals[@]}" build --locked $formats \
            --out "$dir/$r/out" "$@" > "$dir/$r.log" 2>&1 || { cat "$dir/$r.log" >&2; exit 1; }
        since "$started"
    }
    runner single
    local single; single=$(build single)
    local remote="file://$dir/remote"
    runner plan
    local matrix; matrix=$(WRAP_CACHE="$dir/plan/.cache" "$wrap" -m "$dir/plan/wrap.toml" "$@" \
        --remote "$remote" plan --locked --matrix json --shards 3 2>/dev/null)
    local slowest=0 k shard t projects
    for k in 0 1 2; do
        shard=$(echo "$matrix" | python3 -c "import json,sys; print(json.load(sys.stdin)['jobs'][$k]['shard'])")
        projects=$(echo "$matrix" | python3 -c "import json,sys; print(' '.join(json.load(sys.stdin)['jobs'][$k]['projects']))")
        runner "shard$k"
        export WRAP_REMOTE="$remote"
        t=$(build "shard$k" --shard "$shard")
        echo "$name: shard $((k + 1))/3 ($projects): ${t}s"
        slowest=$(awk -v a="$slowest" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
    done
    runner fourth
    unset WRAP_REMOTE
    local fourth; fourth=$(WRAP_REMOTE="$remote" build fourth)
    grep -q " 0 ok," "$dir/fourth.log" || { echo "$name: the fourth runner built something" >&2; exit 1; }
    # What the remote gave is what the shards built, byte for byte; against the one-box build,
    # an artifact differs only where two cold builds of it differ (said, not fatal: a C
    # extension compiled from an sdist can carry its temporary build path).
    local a b differ=""
    for a in "$dir"/fourth/out/*; do
        case "$a" in *.sha256) continue ;; esac
        b=$(ls "$dir"/shard*/out/"$(basename "$a")")
        cmp -s "$a" "$b" || { echo "$name: $(basename "$a") is not what its shard built" >&2; exit 1; }
        cmp -s "$a" "$dir/single/out/$(basename "$a")" || differ="$differ $(basename "$a")"
    done
    [ -z "$differ" ] && same="byte-identical to the one-box build" \
        || same="identical to the shards'; differ from the one-box build (not reproducible across cold builds):$differ"
    # A fifth runner with an empty cache that must build everything (--rebuild: as after a
    # change to every project): the same work as the one box, with the bytecode from the remote.
    runner fifth
    local fifth; fifth=$(WRAP_REMOTE="$remote" build fifth --rebuild)
    local pycs; pycs=$(grep -o "[0-9]* bytecode file(s)" "$dir/fifth.log" | awk '{ n += $1 } END { print n + 0 }')
    echo "$name: one box ${single}s; slowest of 3 shards ${slowest}s ($(ratio "$slowest" "$single")x);" \
        "fourth runner, all from the remote: ${fourth}s ($(ratio "$fourth" "$single")x, target <= 0.1);" \
        "its artifacts $same;" \
        "fifth runner, building everything with $pycs pycs from the remote: ${fifth}s ($(ratio "$fifth" "$single")x)"
}

"$root/fixtures/make-repos.sh" "$root/manifests/offline/repos" > /dev/null
bench offline "$root/manifests/offline" "--format deb --format tar"
if [ "${CORPUS:-1}" != 0 ]; then
    repos=${WRAP_CORPUS_DIR:-$HOME/.cache/wrap-corpus}/repos
    "$root/corpus/make-repos.sh" "$repos" > /dev/null
    "$root/fixtures/make-repos.sh" "$work/fixture-repos" > /dev/null
    bench corpus "$root/corpus" "--format deb" \
        --git-mirror "https://opendev.org/openstack/=$repos/" \
        --git-mirror "https://example.invalid/wrap/=$work/fixture-repos/"
fi
