#!/usr/bin/env bash
# bench/firstsync.sh — the memory of a Vitrine's first sync: the real
# binary against an Instagram look-alike in another process whose CDN
# serves real-size photographs (1080×1350 JPEG, about 300 KB), with
# widget.webp on and off. Prints a Markdown table: peak RSS (VmHWM) at the
# first gallery and once every image has its WebP, RSS after, the sync's
# time, the WebP pass's time over as many syncs as it takes, and the load
# average. See bench/README.md ("First sync").
#
# Usage (from anywhere in the repository):
#
#   bench/firstsync.sh                            # 100 and 1,000 posts
#   FIRSTSYNC_POSTS=100 bench/firstsync.sh        # a quick look
#   FIRSTSYNC_BEFORE=main bench/firstsync.sh      # that revision too, in the same run
#   FIRSTSYNC_WEBP=on FIRSTSYNC_WEBP_SYNCS=1 bench/firstsync.sh   # one WebP pass, the rest extrapolated
#
# Environment (defaults in brackets):
#   FIRSTSYNC_POSTS    feed sizes measured [100,1000]
#   FIRSTSYNC_BEFORE   a revision measured before this tree, built from
#                      `git archive` in the temporary directory; one from
#                      before widget.webp needs FIRSTSYNC_WEBP=on []
#   FIRSTSYNC_WEBP     settings of widget.webp measured [on,off]
#   FIRSTSYNC_WEBP_SYNCS  with webp on, syncs run at most; the WebP files
#                      still missing then are extrapolated at the measured
#                      rate [0: as many as it takes]
#   FIRSTSYNC_SETTLE   wait after the last sync before reading the RSS after [10s]
#   BENCH_KEEP=1       keep the temporary directory (logs, data dirs)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vitrine-firstsync.XXXXXX")
if [[ "${BENCH_KEEP:-}" != 1 ]]; then trap 'rm -rf "$tmp"' EXIT; else echo "keeping $tmp" >&2; fi

build() { # build DIR OUT: the vitrine binary, copied as an install would have it
	(cd "$1" && go build -o "$tmp/build.$$" .)
	cp "$tmp/build.$$" "$2" && rm -f "$tmp/build.$$"
}

bins=""
if [[ -n "${FIRSTSYNC_BEFORE:-}" ]]; then
	rev=$(git -C "$repo" rev-parse --short "$FIRSTSYNC_BEFORE")
	mkdir -p "$tmp/before-src"
	git -C "$repo" archive "$rev" | tar -x -C "$tmp/before-src"
	build "$tmp/before-src" "$tmp/vitrine-before"
	bins="before ($rev)=$tmp/vitrine-before;"
fi
build "$repo" "$tmp/vitrine"
head=$(git -C "$repo" rev-parse --short HEAD)
dirty=$(git -C "$repo" status --porcelain -- . ':!bench/RESULTS.md' | head -1)
bins+="this tree ($head${dirty:+, modified})=$tmp/vitrine"
(cd "$repo" && go build -o "$tmp/firstsync" ./bench/firstsync)

echo "first sync, $(nproc) cores, $(go version | awk '{print $3}'), $(date -u '+%Y-%m-%d %H:%M UTC')" >&2
"$tmp/firstsync" -vitrine "$bins" -posts "${FIRSTSYNC_POSTS:-100,1000}" \
	-webp "${FIRSTSYNC_WEBP:-on,off}" -webp-syncs "${FIRSTSYNC_WEBP_SYNCS:-0}" \
	-photos "$tmp/photos" -work "$tmp/work" -settle "${FIRSTSYNC_SETTLE:-10s}"
