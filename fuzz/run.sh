#!/bin/sh
# Fuzzes wrap's manifest/lock parser and `wrap inspect` for SECONDS each (default 60), starting
# from fuzz/seeds/<target>/ and the artifacts of the offline example when there are any.
# A crash leaves its input in fuzz/artifacts/<target>/: fix it, then copy the input into
# fuzz/seeds/<target>/, where `cargo test` replays it for ever after.
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a nightly toolchain, or RUSTC_BOOTSTRAP=1.
set -eu
cd "$(dirname "$0")"
seconds=${1:-60}
toolchain=+nightly
rustup toolchain list 2>/dev/null | grep -q nightly || { toolchain=""; export RUSTC_BOOTSTRAP=1; }
for target in manifest inspect; do
    mkdir -p "corpus/$target"
    cp -n seeds/$target/* "corpus/$target/" 2>/dev/null || true
    if [ "$target" = inspect ]; then
        for artifact in ../manifests/offline/dist/*.deb ../manifests/offline/dist/*.rpm ../manifests/offline/dist/*.tar.gz; do
            [ -f "$artifact" ] && cp -n "$artifact" "corpus/$target/" || true
        done
    fi
    cargo $toolchain fuzz run --sanitizer none "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=2000000 -rss_limit_mb=2048
done
