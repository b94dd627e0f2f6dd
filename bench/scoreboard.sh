#!/usr/bin/env bash
# bench/scoreboard.sh — what a visitor's browser gets from the demo: image
# bytes against the ideal, Lighthouse scores, requests and bytes per page.
# See bench/README.md ("The visitor scoreboard").
#
# Usage (from anywhere in the repository):
#
#   bench/scoreboard.sh                          # this tree; ~4 minutes
#   SCOREBOARD_BEFORE=main bench/scoreboard.sh   # that revision too, first, in the same run
#
# What it does: builds Vitrine (and SCOREBOARD_BEFORE's tree, from git
# archive), starts each with `-demo -demo-connect`, waits for the synced
# gallery, then on /widget and the sample site /demo:
#   - bench/scoreboard (Go, chromedp) loads each page at 1280×900 DPR 1 and
#     390×844 DPR 3 in headless Chromium with an empty profile, scrolls to
#     the bottom, and compares the /media/ bytes fetched with the ideal;
#   - Lighthouse 12.8.2 with its default phone emulation and with
#     --preset=desktop.
# It prints markdown and replaces the "Visitor scoreboard" section of
# bench/RESULTS.md (kept among the notes, which bench/run.sh preserves).
#
# Environment (defaults in brackets):
#   SCOREBOARD_BEFORE   a git revision measured first, as "before" [none]
#   SCOREBOARD_PAGES    paths measured [/widget /demo]
#   SCOREBOARD_CACHE    where Lighthouse is installed
#                       [${XDG_CACHE_HOME:-~/.cache}/vitrine-bench]
#   CHROME_PATH         the Chromium to drive [/usr/bin/chromium]
#   BENCH_PORT          first loopback port to try [18180]
#   BENCH_RESULTS       results file; "-" writes none [bench/RESULTS.md]
#   BENCH_KEEP=1        keep the temporary directory (logs, Lighthouse JSON)
#
# Needs: go, curl, git, Node.js 20 with npm, and Chromium (installed with
# apt-get when missing, as root or through sudo). Lighthouse is installed
# with npm into SCOREBOARD_CACHE, never into the repository.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/bench/section.sh"
before=${SCOREBOARD_BEFORE:-}
pages=${SCOREBOARD_PAGES:-/widget /demo}
cache=${SCOREBOARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vitrine-bench}
chrome=${CHROME_PATH:-/usr/bin/chromium}
port=${BENCH_PORT:-18180}
results=${BENCH_RESULTS:-$root/bench/RESULTS.md}
lighthouse_version=12.8.2
# As the machine page says Chromium must start here: headless, no sandbox
# (root), no GPU, nothing reaching out to the network by itself.
chrome_flags="--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage"
command_line="$( (env | grep -E '^(SCOREBOARD|BENCH)_' || true) | sort | tr '\n' ' ')bench/scoreboard.sh"

say() { printf '%s\n' "$*" >&2; }
die() { say "scoreboard: $*"; exit 1; }

# ---------------------------------------------------------------- tools
for t in go curl git node npm; do command -v "$t" >/dev/null || die "$t is needed"; done
if [ ! -x "$chrome" ]; then
	say "scoreboard: installing Chromium (apt-get install -y chromium)"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get install -y chromium >&2 || die "cannot install chromium; install it and run again"
	chrome=/usr/bin/chromium
fi
lh_dir="$cache/lighthouse-$lighthouse_version"
lighthouse="$lh_dir/node_modules/.bin/lighthouse"
if [ ! -x "$lighthouse" ]; then
	say "scoreboard: installing lighthouse@$lighthouse_version into $lh_dir"
	mkdir -p "$lh_dir"
	[ -f "$lh_dir/package.json" ] || echo '{"private": true}' >"$lh_dir/package.json"
	(cd "$lh_dir" && npm install --no-audit --no-fund --loglevel=error "lighthouse@$lighthouse_version" >&2) ||
		die "cannot install lighthouse@$lighthouse_version"
fi

# ---------------------------------------------------------------- temp dir, cleanup
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vitrine-scoreboard.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "${BENCH_KEEP:-}" = 1 ]; then say "scoreboard: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	local p=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}
metric_sum() { curl -s "$1/metrics" | awk -v re="$2" '$0 ~ re {s += $NF} END {print s + 0}'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# ---------------------------------------------------------------- builds
say "scoreboard: building the driver and Vitrine"
(cd "$root" && go build -o "$tmp/scoreboard" ./bench/scoreboard && go build -o "$tmp/vitrine-now" .)
builds=()
if [ -n "$before" ]; then
	rev=$(cd "$root" && git rev-parse --short "$before")
	mkdir -p "$tmp/before-src"
	(cd "$root" && git archive "$rev") | tar -x -C "$tmp/before-src"
	(cd "$tmp/before-src" && go build -o "$tmp/vitrine-before" .)
	builds+=("before|$rev|$tmp/vitrine-before")
fi
now_rev=$(cd "$root" && git rev-parse --short HEAD)
(cd "$root" && git diff --quiet HEAD -- . ':!bench/RESULTS.md') || now_rev="$now_rev+changes"
builds+=("$([ -n "$before" ] && echo after || echo now)|$now_rev|$tmp/vitrine-now")

# ---------------------------------------------------------------- measure
images=() # label|page|viewport|requests|bytes|image requests|image bytes|ideal|drawn|widget.js requests|as JPEG|WebP requests
lh=()     # label|page|form|perf|a11y|bp|lcp ms|cls|failed audits|load
budgets=()
load_start=$(load)
for b in "${builds[@]}"; do
	IFS='|' read -r label rev bin <<<"$b"
	vport=$(free_port "$port")
	url="http://127.0.0.1:$vport"
	say "scoreboard: $label ($rev) on $url"
	"$bin" -demo -demo-connect -addr "127.0.0.1:$vport" >"$tmp/vitrine-$label.log" 2>&1 &
	vpid=$!
	pids+=("$vpid")
	synced=""
	for _ in $(seq 1 3000); do
		if [ "$(metric_sum "$url" '^vitrine_job_runs_total\\{job="sync",result="success"\\}')" -ge 1 ] &&
			curl -s "$url/widget.json" | grep -q '"permalink"'; then
			synced=1
			break
		fi
		kill -0 "$vpid" 2>/dev/null || break
		sleep 0.2
	done
	[ -n "$synced" ] || { cat "$tmp/vitrine-$label.log" >&2; die "the demo gallery of $label did not sync"; }
	# The mirror fetches images at 8/s after the sync: wait until every
	# post's images are served, or the first page would see placeholders.
	for _ in $(seq 1 150); do
		missing=0
		for m in $(curl -s "$url/widget.json" | grep -o '/media/[0-9]*/[0-9]*\.jpg' | sort -u); do
			[ "$(curl -s -o /dev/null -w '%{http_code}' "$url$m")" = 200 ] || missing=$((missing + 1))
		done
		[ "$missing" = 0 ] && break
		sleep 1
	done
	posts=$(curl -s "$url/widget.json" | grep -o '"permalink"' | wc -l)
	js_gz=$(curl -s -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$url/widget.js")
	page_gz=$(curl -s -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$url/widget")
	budgets+=("$label|$posts|$js_gz|$page_gz")

	say "scoreboard: $label: image bytes in Chromium"
	# shellcheck disable=SC2086 # pages is a list
	while IFS=$'\t' read -r page vp reqs bytes ireqs ibytes ideal drawn jsreqs jpeg webps; do
		images+=("$label|$page|$vp|$reqs|$bytes|$ireqs|$ibytes|$ideal|$drawn|$jsreqs|$jpeg|$webps")
	done < <("$tmp/scoreboard" -url "$url" -chrome "$chrome" -pages "$(echo $pages | tr ' ' ',')")

	for page in $pages; do
		for form in mobile desktop; do
			say "scoreboard: $label: Lighthouse $page ($form)"
			out="$tmp/lh-$label-${page//\//_}-$form.json"
			preset=()
			[ "$form" = desktop ] && preset=(--preset=desktop)
			l0=$(cut -d' ' -f1 /proc/loadavg)
			CHROME_PATH=$chrome "$lighthouse" "$url$page" "${preset[@]}" --quiet --output=json --output-path="$out" \
				--only-categories=performance,accessibility,best-practices --chrome-flags="$chrome_flags" >&2 ||
				die "Lighthouse failed on $page ($form)"
			row=$(node -e '
				const r = require(process.argv[1]);
				const c = r.categories, a = r.audits;
				const failed = [];
				for (const cat of ["accessibility", "best-practices", "performance"])
					for (const ref of c[cat].auditRefs) {
						const au = a[ref.id];
						if (ref.weight > 0 && au.score !== null && au.score < (cat === "performance" ? 0.9 : 1)) failed.push(ref.id);
					}
				const pct = (x) => Math.round(x.score * 100);
				console.log([pct(c.performance), pct(c.accessibility), pct(c["best-practices"]),
					Math.round(a["largest-contentful-paint"].numericValue),
					a["cumulative-layout-shift"].numericValue.toFixed(3), failed.join(" ")].join("|"));
			' "$out")
			lh+=("$label|$page|$form|$row|$l0 → $(cut -d' ' -f1 /proc/loadavg)")
		done
	done
	kill "$vpid" 2>/dev/null || true
	wait "$vpid" 2>/dev/null || true
done
load_end=$(load)

# ---------------------------------------------------------------- report
kb() { awk -v b="$1" 'BEGIN {printf "%.1f KB", b / 1000}'; }
report() {
	echo "## Visitor scoreboard"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`$command_line\` (see [README.md](README.md)) on the demo (\`-demo -demo-connect\`), $(nproc) cores; load average (1, 5, 15 min) $load_start at the start, $load_end at the end. $("$chrome" --version 2>/dev/null | head -n1), Lighthouse $lighthouse_version on Node $(node --version)."
	for b in "${builds[@]}"; do
		IFS='|' read -r label rev _ <<<"$b"
		echo "**$label** is \`$rev\`."
	done | paste -sd' ' -
	echo
	echo "**Image bytes** (goals: downloaded ≤ 1.25 × ideal; with WebP, ≤ 0.6 × the same tiles as JPEG). The page is loaded with an empty cache and scrolled to the bottom; *ideal* is, for every image drawn, the smallest variant in the \`srcset\` it drew from (its \`<picture>\`'s WebP \`<source>\` when it drew WebP) at least as wide as its drawn CSS width × DPR, each file once; *as JPEG* is what the JPEG of each file fetched weighs: the same tiles without WebP. Requests and bytes are the whole page's, headers included."
	echo
	echo "| build | page | viewport | images drawn | image requests (WebP) | downloaded | ideal | **ratio** | as JPEG | **vs JPEG** | page requests | page bytes | \`widget.js\` requests |"
	echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	local r label page vp reqs bytes ireqs ibytes ideal drawn jsreqs jpeg webps ratio vsjpeg
	for r in "${images[@]}"; do
		IFS='|' read -r label page vp reqs bytes ireqs ibytes ideal drawn jsreqs jpeg webps <<<"$r"
		ratio=$(awk -v a="$ibytes" -v b="$ideal" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}')
		vsjpeg=$(awk -v a="$ibytes" -v b="$jpeg" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}')
		printf '| %s | `%s` | %s | %s | %s (%s) | %s | %s | **%s** | %s | **%s** | %s | %s | %s |\n' "$label" "$page" "$vp" "$drawn" "$ireqs" "$webps" \
			"$(kb "$ibytes")" "$(kb "$ideal")" "$ratio" "$(kb "$jpeg")" "$vsjpeg" "$reqs" "$(kb "$bytes")" "$jsreqs"
	done
	echo
	echo "The widget's own budgets (\`go test ./widget -run SizeBudget\`): the loader ≤ 3 KB gzip, \`widget.js\` ≤ 6 KB gzip for 12 posts (9 KB with every option on). Here:"
	for r in "${budgets[@]}"; do
		IFS='|' read -r label posts js page <<<"$r"
		echo "- $label: \`widget.js\` is $js B gzip, the \`/widget\` page $page B gzip, for the demo's $posts posts (the JS embed carries every post's markup, so it is over the 12-post budget by the extra posts)."
	done
	echo
	echo "**Lighthouse** (goal: 100 / 100 / 100 on \`/widget\`, ≥ 95 / 100 / 100 on \`/demo\`; CLS 0). *mobile* is Lighthouse's default phone emulation (Moto G Power, slow 4G, 4× CPU slowdown, simulated), *desktop* its \`--preset=desktop\`. Scores move with the machine's load, given beside each row."
	echo
	echo "| build | page | emulation | Performance | Accessibility | Best Practices | LCP | CLS | audits below 100 (Perf: below 90) | load |"
	echo "|---|---|---|---:|---:|---:|---:|---:|---|---|"
	local form perf a11y bp lcp cls failed l
	for r in "${lh[@]}"; do
		IFS='|' read -r label page form perf a11y bp lcp cls failed l <<<"$r"
		printf '| %s | `%s` | %s | %s | %s | %s | %s ms | %s | %s | %s |\n' "$label" "$page" "$form" "$perf" "$a11y" "$bp" "$lcp" "$cls" \
			"$(for f in $failed; do printf '`%s` ' "$f"; done)" "$l"
	done
}
out=$(report)
printf '\n%s\n' "$out"
if [ "$results" != "-" ]; then
	write_section scoreboard "$out" "$results" "$tmp"
	say "scoreboard: wrote $results"
fi
