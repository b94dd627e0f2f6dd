#!/usr/bin/env bash
# bench/filterflood.sh — what a flood of caption filters costs a running
# Vitrine's visitors. Builds Vitrine, starts the demo (a fake Instagram in
# the process, connected and synced), then runs bench/filterflood: a plain
# visitor times /widget.js alone, then while several connections send
# random combinations of the captions' words at full speed and a
# configured embed keeps asking for its own filter. Prints a Markdown
# table for bench/RESULTS.md.
#
# Environment (defaults in brackets):
#   FLOOD_IDLE      the plain visitor alone [10s]
#   FLOOD_DURATION  the flood [20s]
#   FLOOD_CONNS     flooding connections [4]
#   FLOOD_PORT      first loopback port to try [18180]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${FLOOD_PORT:-18180}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vitrine-flood.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
url=http://127.0.0.1:$port

echo "filterflood: building Vitrine and the load program" >&2
(cd "$root" && go build -o "$tmp/vitrine" . && go build -o "$tmp/filterflood" ./bench/filterflood)
"$tmp/vitrine" -demo -demo-connect -addr "127.0.0.1:$port" >"$tmp/vitrine.log" 2>&1 &
pid=$!

echo "filterflood: waiting for the demo's first sync on $url" >&2
for _ in $(seq 1 600); do
	curl -fsS "$url/widget.json" 2>/dev/null | grep -q '"permalink"' && break
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/vitrine.log" >&2; exit 1; }
	sleep 0.5
done

echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`bench/filterflood.sh\` on the demo, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start."
echo
"$tmp/filterflood" -url "$url" -idle "${FLOOD_IDLE:-10s}" -flood "${FLOOD_DURATION:-20s}" -conns "${FLOOD_CONNS:-4}"
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
