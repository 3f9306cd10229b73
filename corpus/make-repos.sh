#!/bin/sh
# Turns the real-world corpus (corpus/sdists.txt: OpenStack projects' sdists from PyPI, pinned by
# sha256) into git repositories under DEST that look like upstream's: the generated files of an
# sdist (*.egg-info, PKG-INFO, AUTHORS, ChangeLog, setup.cfg's [egg_info]) removed, one commit
# at the sdist's upload time, tagged `X.Y.Z.0rc1` and `X.Y.Z` on that same commit, as OpenStack
# tags a release candidate that becomes the release.
# Downloads go to $WRAP_CORPUS_CACHE (default ~/.cache/wrap-corpus) and are reused; a file whose
# sha256 differs is refused. Needs network access to PyPI for the first run only.
# Usage: corpus/make-repos.sh DEST
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DEST" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
dest=$1
cache=${WRAP_CORPUS_CACHE:-$HOME/.cache/wrap-corpus}
mkdir -p "$dest" "$cache/sdists"

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="OpenStack Release Bot" GIT_AUTHOR_EMAIL="infra-root@openstack.org"
export GIT_COMMITTER_NAME="OpenStack Release Bot" GIT_COMMITTER_EMAIL="infra-root@openstack.org"

# sdist NAME VERSION SHA256: the verified sdist in the cache, downloaded from the index (PyPI's
# simple API, or $WRAP_CORPUS_INDEX) if missing: the file whose link carries that sha256.
sdist() {
    file=$(ls "$cache/sdists/$3"/*.tar.gz 2>/dev/null | head -n 1 || true)
    if [ -z "$file" ]; then
        mkdir -p "$cache/sdists/$3"
        python3 - "$1" "$3" "$cache/sdists/$3" "${WRAP_CORPUS_INDEX:-https://pypi.org/simple}" <<'PY' >&2
import hashlib, os, re, sys, tempfile, urllib.request
name, sha256, dest, index = sys.argv[1:]
page = urllib.request.urlopen(f"{index}/{re.sub(r'[-_.]+', '-', name).lower()}/", timeout=60).read().decode()
links = [u for u in re.findall(r'href="([^"]+)"', page) if u.endswith("#sha256=" + sha256)]
if not links:
    sys.exit(f"{name}: the index has no file with sha256 {sha256}")
url = links[0].split("#")[0]
data = urllib.request.urlopen(url, timeout=300).read()
if hashlib.sha256(data).hexdigest() != sha256:
    sys.exit(f"{url}: sha256 does not match")
fd, tmp = tempfile.mkstemp(dir=dest)
os.write(fd, data)
os.close(fd)
os.rename(tmp, os.path.join(dest, url.rsplit("/", 1)[1]))
PY
        file=$(ls "$cache/sdists/$3"/*.tar.gz)
    fi
    echo "$3  $file" | sha256sum -c --quiet - >&2 || {
        echo "$file: sha256 is not the $3 that corpus/sdists.txt pins" >&2
        exit 1
    }
    echo "$file"
}

grep -v '^#' "$here/sdists.txt" | while read -r name version sha256 date; do
    [ -n "$name" ] || continue
    repo="$dest/$name"
    if [ -f "$repo/.git/wrap-corpus-$sha256" ]; then
        continue # already made from this sdist
    fi
    file=$(sdist "$name" "$version" "$sha256")
    rm -rf "$repo"
    mkdir -p "$repo"
    tar -xzf "$file" -C "$repo" --strip-components=1
    rm -rf "$repo"/*.egg-info "$repo/PKG-INFO" "$repo/AUTHORS" "$repo/ChangeLog"
    if [ -f "$repo/setup.cfg" ]; then
        # pbr appends [egg_info] to setup.cfg in an sdist; upstream's setup.cfg has none.
        awk '/^\[egg_info\]/ { skip = 1; next } /^\[/ { skip = 0 } !skip' "$repo/setup.cfg" > "$repo/setup.cfg.new"
        mv "$repo/setup.cfg.new" "$repo/setup.cfg"
    fi
    git -C "$repo" init -q -b master
    git -C "$repo" add -A
    GIT_AUTHOR_DATE="$date +0000" GIT_COMMITTER_DATE="$date +0000" \
        git -C "$repo" commit -q -m "Release $name $version"
    for tag in "$version.0rc1" "$version"; do
        GIT_COMMITTER_DATE="$date +0000" git -C "$repo" tag -a "$tag" -m "$name $tag"
    done
    touch "$repo/.git/wrap-corpus-$sha256"
    echo "made $repo ($name $version)" >&2
done
