#!/usr/bin/env bash
# bench/run.sh — Vitrine's public endpoints against nginx serving the very
# same bytes, measured with wrk on this machine. See bench/README.md.
#
# Usage (from anywhere in the repository):
#
#   bench/run.sh                     # ~12 minutes; writes bench/RESULTS.md
#   BENCH_DURATION=5s bench/run.sh   # a quick look (~3 minutes)
#
# What it does: builds Vitrine into a temporary directory, starts it with
# `-demo -demo-connect` (a fake Instagram in the same process, connected and
# synced at start), waits for the gallery and its images, downloads the exact
# bytes of /widget.js, /widget.css, /widget?fragment=1, /widget.json (identity and gzip)
# and one /media image into a docroot, and starts nginx on another loopback
# port serving those files with the same Content-Type and caching headers
# (gzip_static for the pre-compressed copies). Then, one endpoint after the
# other, Vitrine first and nginx second, a warm-up and a measured wrk run of
# the same length, threads and connections, with Accept-Encoding: gzip on the
# text endpoints. It also measures Vitrine's RSS, the start-up time to the
# first served /widget, the RSS with 1,000 cached posts (in the demo, then
# in a plain Vitrine restarted on the same data), and the upstream
# Instagram calls during a mixed wrk run (read from the fake's
# /_fake/instagram/_stats).
#
# Environment (defaults in brackets):
#   BENCH_DURATION          measured wrk run per endpoint and server [30s]
#   BENCH_WARMUP            unmeasured wrk run before each measured one [3s]
#   BENCH_THREADS           wrk threads [2]
#   BENCH_CONNECTIONS       wrk connections [64]
#   BENCH_UPSTREAM_DURATION the upstream-count run and its idle control
#                           [60s, or BENCH_DURATION when that is set]
#   BENCH_LARGE_POSTS       posts of the RSS-at-scale run; 0 skips it [1000]
#   BENCH_PORT              first loopback port to try [18080]
#   BENCH_RESULTS           results file; "-" writes none [bench/RESULTS.md]
#   BENCH_KEEP=1            keep the temporary directory (logs, docroot)
#
# Needs: go, curl, gzip, and nginx and wrk (installed with apt-get when
# missing, as root or through sudo). Both servers and wrk share this
# machine's cores; see bench/README.md for how to read the numbers.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
duration=${BENCH_DURATION:-30s}
warmup=${BENCH_WARMUP:-3s}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-64}
up_duration=${BENCH_UPSTREAM_DURATION:-${BENCH_DURATION:-60s}}
large_posts=${BENCH_LARGE_POSTS:-1000}
port=${BENCH_PORT:-18080}
results=${BENCH_RESULTS:-$root/bench/RESULTS.md}
command_line="$( (env | grep -E '^BENCH_' || true) | sort | tr '\n' ' ')bench/run.sh"

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

# ---------------------------------------------------------------- tools
nginx_bin=$(command -v nginx || true)
[ -z "$nginx_bin" ] && [ -x /usr/sbin/nginx ] && nginx_bin=/usr/sbin/nginx
if [ -z "$nginx_bin" ] || ! command -v wrk >/dev/null; then
	say "bench: installing nginx and wrk (apt-get install -y nginx wrk)"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get install -y nginx wrk >&2 || die "cannot install nginx and wrk; install them and run again"
	nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
fi
for t in go curl gzip wrk; do command -v "$t" >/dev/null || die "$t is needed"; done

# ---------------------------------------------------------------- temp dir, cleanup
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vitrine-bench.XXXXXX")
chmod 755 "$tmp" # nginx's workers may run as another user and read the docroot
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "${BENCH_KEEP:-}" = 1 ]; then say "bench: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port N: the first port from N up that nothing listens on.
free_port() {
	local p=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}

now_ns() { date +%s%N; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
clk_tck=$(getconf CLK_TCK)
# cpu_ticks PID...: user+system ticks of the processes, summed.
cpu_ticks() {
	local s=0 p
	for p in "$@"; do s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
	echo "$s"
}
metric_sum() { curl -s "$1/metrics" | awk -v re="$2" '$0 ~ re {s += $NF} END {print s + 0}'; }
fake_calls() { curl -s "$1/_fake/instagram/_stats" | sed -n 's/.*"calls":\([0-9]*\).*/\1/p'; }
fake_paths() { curl -s "$1/_fake/instagram/_stats" | grep -o '"/[^"]*":[0-9]*' || true; }

# ---------------------------------------------------------------- build
say "bench: building Vitrine"
# Built aside, then copied as an install would: a process started from the
# file the linker has just written counts about 11 MiB more of the
# executable in its RSS (RssFile 33 vs 22 MiB, same bytes) than one started
# from a copy, or from that file once dropped from the page cache (a cold
# start: 22 MiB too).
(cd "$root" && go build -o "$tmp/vitrine-built" .)
cp "$tmp/vitrine-built" "$tmp/vitrine"
rm "$tmp/vitrine-built"
go_version=$(go version | awk '{print $3}')

# start_vitrine PORT LOG [flags...]: starts it; sets vpid and vstart (ns).
start_vitrine() {
	local p=$1 log=$2
	shift 2
	vstart=$(now_ns)
	"$tmp/vitrine" -demo -demo-connect -addr "127.0.0.1:$p" "$@" >"$log" 2>&1 &
	vpid=$!
	pids+=("$vpid")
}

# wait_synced URL SECONDS: until a sync succeeded and widget.json lists posts.
wait_synced() {
	local url=$1 until=$(($(date +%s) + $2))
	while :; do
		if [ "$(metric_sum "$url" '^vitrine_job_runs_total\\{job="sync",result="success"\\}')" -ge 1 ] &&
			curl -s "$url/widget.json" | grep -q '"permalink"'; then
			return 0
		fi
		[ "$(date +%s)" -lt "$until" ] || return 1
		kill -0 "$vpid" 2>/dev/null || return 1
		sleep 0.2
	done
}

# ---------------------------------------------------------------- Vitrine
vport=$(free_port "$port")
vurl="http://127.0.0.1:$vport"
say "bench: starting Vitrine on $vurl"
start_vitrine "$vport" "$tmp/vitrine.log"
main_pid=$vpid
first_widget=""
for _ in $(seq 1 3000); do
	if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$vurl/widget" || true)" = 200 ]; then
		first_widget=$(( ($(now_ns) - vstart) / 1000000 ))
		break
	fi
	kill -0 "$vpid" 2>/dev/null || { cat "$tmp/vitrine.log" >&2; die "Vitrine exited"; }
	sleep 0.002
done
[ -n "$first_widget" ] || die "no 200 from /widget"
wait_synced "$vurl" 600 || { cat "$tmp/vitrine.log" >&2; die "the demo gallery did not sync"; }
synced_ms=$(( ($(now_ns) - vstart) / 1000000 ))
posts=$(curl -s "$vurl/widget.json" | grep -o '"permalink"' | wc -l || true)
# A 640 px image kept in WebP too (the sync's run ends once its WebP are
# made), measured in both formats: the same picture.
webp=$(curl -s "$vurl/widget.json" | grep -o '/media/[0-9]*/640\.webp' | head -n1 || true)
[ -n "$webp" ] || die "widget.json names no 640 px WebP"
media="${webp%.webp}.jpg"
for m in "$media" "$webp"; do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$vurl$m")" = 200 ] || die "$m is not served"
done
say "bench: first /widget after ${first_widget} ms; $posts posts synced after ${synced_ms} ms"

# ---------------------------------------------------------------- docroot
doc="$tmp/docroot"
mkdir -p "$doc$(dirname "$media")"
# fetch_pair URL FILE: identity and gzip bytes, taken again if a sync
# rebuilt the snapshot between the two requests.
fetch_pair() {
	local try
	for try in 1 2 3 4 5; do
		curl -s -o "$2" "$1"
		curl -s -H 'Accept-Encoding: gzip' -o "$2.gz" "$1"
		gzip -dc "$2.gz" | cmp -s - "$2" && return 0
	done
	die "identity and gzip bodies of $1 differ"
}
fetch_pair "$vurl/widget.js" "$doc/widget.js"
fetch_pair "$vurl/widget.css" "$doc/widget.css"
fetch_pair "$vurl/widget?fragment=1" "$doc/widget"
fetch_pair "$vurl/widget.json" "$doc/widget.json"
curl -s -o "$doc$media" "$vurl$media"
curl -s -o "$doc$webp" "$vurl$webp"
chmod -R a+rX "$doc"

# ---------------------------------------------------------------- nginx
nport=$(free_port $((vport + 1)))
nurl="http://127.0.0.1:$nport"
ngx="$tmp/nginx"
mkdir -p "$ngx"
ncpu=$(nproc)
cache_gallery='add_header Cache-Control "public, max-age=30, stale-while-revalidate=30, stale-if-error=86400";'
common='add_header Cross-Origin-Resource-Policy cross-origin; add_header X-Content-Type-Options nosniff;'
cat >"$ngx/nginx.conf" <<EOF
# Written by bench/run.sh: a plain static-file nginx, tuned as one would
# for this job (workers = cores, sendfile, keep-alive, no access log).
worker_processes $ncpu;
daemon off;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 120s;
    keepalive_requests 1000000;
    client_body_temp_path $ngx/body;
    proxy_temp_path $ngx/proxy;
    fastcgi_temp_path $ngx/fastcgi;
    uwsgi_temp_path $ngx/uwsgi;
    scgi_temp_path $ngx/scgi;
    types { }
    server {
        listen 127.0.0.1:$nport;
        root $doc;
        gzip_static on;
        gzip_vary on;
        location = /widget {
            default_type "text/html; charset=utf-8";
            $cache_gallery $common
        }
        location = /widget.js {
            default_type "text/javascript; charset=utf-8";
            $cache_gallery $common add_header Access-Control-Allow-Origin *;
        }
        location = /widget.css {
            default_type "text/css; charset=utf-8";
            $cache_gallery $common add_header Access-Control-Allow-Origin *;
        }
        location = /widget.json {
            default_type "application/json; charset=utf-8";
            $cache_gallery $common add_header Access-Control-Allow-Origin *;
        }
        location /media/ {
            default_type image/jpeg;
            add_header Cache-Control "public, max-age=31536000, immutable"; $common
        }
        location ~ ^/media/.*\.webp\$ {
            default_type image/webp;
            add_header Cache-Control "public, max-age=31536000, immutable"; $common
        }
    }
}
EOF
say "bench: starting nginx on $nurl"
"$nginx_bin" -p "$ngx/" -c "$ngx/nginx.conf" -e "$ngx/error.log" >"$ngx/stdout.log" 2>&1 &
npid=$!
pids+=("$npid")
for _ in $(seq 1 100); do
	curl -s -o /dev/null "$nurl/widget.js" && break
	sleep 0.05
done
nginx_pids() { echo "$npid" $(pgrep -P "$npid" || true); }

# The same bytes and Content-Type from both servers.
check_same() {
	local target=$1 file=$2 ae=$3 vt nt
	curl -s ${ae:+-H "Accept-Encoding: $ae"} -o "$tmp/check" "$nurl$target"
	cmp -s "$tmp/check" "$file" || die "nginx does not serve $file for $target ($ae)"
	vt=$(curl -s -o /dev/null -w '%{content_type}' ${ae:+-H "Accept-Encoding: $ae"} "$vurl$target")
	nt=$(curl -s -o /dev/null -w '%{content_type}' ${ae:+-H "Accept-Encoding: $ae"} "$nurl$target")
	[ "$vt" = "$nt" ] || die "Content-Type of $target: Vitrine $vt, nginx $nt"
}
check_same /widget.js "$doc/widget.js" ""
check_same /widget.js "$doc/widget.js.gz" gzip
check_same /widget.css "$doc/widget.css" ""
check_same /widget.css "$doc/widget.css.gz" gzip
check_same "/widget?fragment=1" "$doc/widget" ""
check_same "/widget?fragment=1" "$doc/widget.gz" gzip
check_same /widget.json "$doc/widget.json" ""
check_same /widget.json "$doc/widget.json.gz" gzip
check_same "$media" "$doc$media" ""
check_same "$webp" "$doc$webp" ""

# ---------------------------------------------------------------- wrk
cat >"$tmp/report.lua" <<'EOF'
-- Prints one line for bench/run.sh: req/s, p50 and p99 in ms, errors
-- (socket errors and non-2xx/3xx answers), requests.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %.0f %.2f %.2f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout + e.status, summary.requests))
end
EOF
# A mixed run cycles through the public paths, as a page of visitors would.
mixed_lua() {
	cat "$tmp/report.lua"
	printf 'local paths = {"/widget.js", "/widget.css", "/widget?fragment=1", "/widget.json", "/widget", "%s"}\n' "$1"
	cat <<'EOF'
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
EOF
}

# bench_one URL GZIP PIDS...: prints "rps p50 p99 errors cpu_us_per_req".
bench_one() {
	local url=$1 gz=$2 out t0 t1
	shift 2
	local hdr=()
	[ "$gz" = 1 ] && hdr=(-H "Accept-Encoding: gzip")
	wrk -t"$threads" -c"$conns" -d"$warmup" "${hdr[@]}" "$url" >/dev/null
	t0=$(cpu_ticks "$@")
	out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$tmp/report.lua" "${hdr[@]}" "$url" | awk '/^BENCH/ {$1 = ""; print}')
	t1=$(cpu_ticks "$@")
	set -- $out
	echo "$1 $2 $3 $4 $(awk -v d=$((t1 - t0)) -v n="$5" -v hz="$clk_tck" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rows=()
for ep in "/widget.js|1" "/widget.css|1" "/widget?fragment=1|1" "/widget.json|1" "$media|0" "$webp|0"; do
	target=${ep%|*}
	gz=${ep#*|}
	say "bench: $target — Vitrine, then nginx ($warmup warm-up + $duration each)"
	l0=$(cut -d' ' -f1 /proc/loadavg)
	v=$(bench_one "$vurl$target" "$gz" "$main_pid")
	n=$(bench_one "$nurl$target" "$gz" $(nginx_pids))
	rows+=("$target|$gz|$v|$n|$l0 → $(cut -d' ' -f1 /proc/loadavg)")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
rss_after=$(rss_kib "$main_pid")
hwm_after=$(hwm_kib "$main_pid")
nginx_rss=0
for p in $(nginx_pids); do nginx_rss=$((nginx_rss + $(rss_kib "$p"))); done

# ---------------------------------------------------------------- upstream calls
mixed_lua "$media" >"$tmp/mixed.lua"
job_re='^vitrine_job_runs_total'
say "bench: upstream Instagram calls during a $up_duration mixed wrk run, then $up_duration idle"
c0=$(fake_calls "$vurl"); j0=$(metric_sum "$vurl" "$job_re"); fake_paths "$vurl" >"$tmp/paths0"
up=$(wrk -t"$threads" -c"$conns" -d"$up_duration" -H 'Accept-Encoding: gzip' -s "$tmp/mixed.lua" "$vurl" | awk '/^BENCH/ {print $2, $5, $6}')
c1=$(fake_calls "$vurl"); j1=$(metric_sum "$vurl" "$job_re"); fake_paths "$vurl" >"$tmp/paths1"
sleep "$(awk -v d="$up_duration" 'BEGIN {sub(/s$/, "", d); if (d ~ /m$/) {sub(/m$/, "", d); d *= 60}; print d}')"
c2=$(fake_calls "$vurl"); j2=$(metric_sum "$vurl" "$job_re"); fake_paths "$vurl" >"$tmp/paths2"
read -r up_rps up_errors up_requests <<<"$up"
busy_calls=$((c1 - c0)); idle_calls=$((c2 - c1))
busy_jobs=$((j1 - j0)); idle_jobs=$((j2 - j1))
# path_delta A B: "path +n" for the paths whose count grew.
path_delta() {
	awk -F: 'NR == FNR {a[$1] = $2; next} {d = $2 - a[$1]; if (d > 0) {gsub(/"/, "", $1); printf "%s%s +%d", sep, $1, d; sep = ", "}}' "$1" "$2"
}
busy_paths=$(path_delta "$tmp/paths0" "$tmp/paths1")
idle_paths=$(path_delta "$tmp/paths1" "$tmp/paths2")
if [ "$busy_jobs" = "$idle_jobs" ]; then
	visitor_calls=$((busy_calls - idle_calls))
else
	visitor_calls="n/a (job runs differ: $busy_jobs vs $idle_jobs)"
fi

# ---------------------------------------------------------------- 1,000 posts
# First as the demo (whose in-process fake Instagram keeps every image it
# drew in memory), then a plain Vitrine restarted on the same data: the
# number a site owner would see.
large=""
plain=""
if [ "$large_posts" -gt 0 ]; then
	lport=$(free_port $((nport + 1)))
	lurl="http://127.0.0.1:$lport"
	say "bench: RSS with $large_posts cached posts (mirroring them takes a few minutes)"
	export VITRINE_WIDGET_MAX_POSTS=$large_posts
	start_vitrine "$lport" "$tmp/vitrine-large.log" -demo-posts "$large_posts"
	large_pid=$vpid
	if wait_synced "$lurl" 1800; then
		cached=$(metric_sum "$lurl" '^vitrine_posts_cached')
		large_sync_s=$(( ($(now_ns) - vstart) / 1000000000 ))
		large_idle=$(rss_kib "$large_pid")
		lmedia=$(curl -s "$lurl/widget.json" | grep -o '/media/[0-9]*/640\.jpg' | head -n1 || true)
		mixed_lua "$lmedia" >"$tmp/mixed-large.lua"
		lrun=$(wrk -t"$threads" -c"$conns" -d"$duration" -H 'Accept-Encoding: gzip' -s "$tmp/mixed-large.lua" "$lurl" | awk '/^BENCH/ {print $2}')
		large_busy=$(rss_kib "$large_pid")
		large_hwm=$(hwm_kib "$large_pid")
		lsize=$(curl -s -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$lurl/widget.json")
		large="$cached|$large_sync_s|$large_idle|$large_busy|$large_hwm|$lrun|$lsize"

		# SIGKILL leaves the demo's data directory behind (SQLite recovers
		# its WAL as after a crash); a plain Vitrine serves it. Its jobs ran
		# a moment ago, so none is due, and Instagram points nowhere.
		ddir=$(sed -n 's/.*data_dir=\([^ ]*\).*/\1/p' "$tmp/vitrine-large.log" | head -n1)
		kill -KILL "$large_pid"
		wait "$large_pid" 2>/dev/null || true
		if [ -n "$ddir" ] && [ -d "$ddir" ]; then
			mv "$ddir" "$tmp/large-data"
			hash=$(printf 'bench password' | "$tmp/vitrine" hash-password)
			pport=$(free_port $((lport + 1)))
			purl="http://127.0.0.1:$pport"
			nowhere=http://127.0.0.1:9
			pstart=$(now_ns)
			VITRINE_DATA_DIR="$tmp/large-data" VITRINE_SERVER_PUBLIC_URL="$purl" VITRINE_ADMIN_PASSWORD_HASH="$hash" \
				VITRINE_INSTAGRAM_CLIENT_ID=bench VITRINE_INSTAGRAM_CLIENT_SECRET=bench \
				VITRINE_INSTAGRAM_AUTH_URL=$nowhere VITRINE_INSTAGRAM_TOKEN_URL=$nowhere VITRINE_INSTAGRAM_GRAPH_URL=$nowhere \
				"$tmp/vitrine" -addr "127.0.0.1:$pport" >"$tmp/vitrine-plain.log" 2>&1 &
			plain_pid=$!
			pids+=("$plain_pid")
			pfirst=""
			for _ in $(seq 1 5000); do
				if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$purl/widget" || true)" = 200 ]; then
					pfirst=$(( ($(now_ns) - pstart) / 1000000 ))
					break
				fi
				kill -0 "$plain_pid" 2>/dev/null || break
				sleep 0.002
			done
			pposts=$(curl -s "$purl/widget.json" | grep -o '"permalink"' | wc -l || true)
			if [ -n "$pfirst" ]; then
				sleep 5
				pidle=$(rss_kib "$plain_pid")
				prun=$(wrk -t"$threads" -c"$conns" -d"$duration" -H 'Accept-Encoding: gzip' -s "$tmp/mixed-large.lua" "$purl" | awk '/^BENCH/ {print $2}')
				plain="$pposts|$pfirst|$pidle|$(rss_kib "$plain_pid")|$(hwm_kib "$plain_pid")|$prun"
			else
				say "bench: the plain Vitrine on the $large_posts-post data did not start; see $tmp/vitrine-plain.log"
			fi
			kill "$plain_pid" 2>/dev/null || true
		fi
	else
		say "bench: the $large_posts-post gallery did not sync in time; see $tmp/vitrine-large.log"
		kill "$large_pid" 2>/dev/null || true
	fi
	unset VITRINE_WIDGET_MAX_POSTS
fi

# ---------------------------------------------------------------- report
size_of() { wc -c <"$1" | tr -d ' '; }
table() {
	echo "| endpoint | body | Vitrine req/s | nginx req/s | Vitrine/nginx | Vitrine p50 / p99 | nginx p50 / p99 | CPU µs/req Vitrine / nginx | load |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	local r target gz v n load file
	for r in "${rows[@]}"; do
		IFS='|' read -r target gz v n load <<<"$r"
		case $target in
		/widget.js) file=$doc/widget.js.gz ;;
		/widget.css) file=$doc/widget.css.gz ;;
		/widget\?*) file=$doc/widget.gz ;;
		/widget.json) file=$doc/widget.json.gz ;;
		*) file=$doc$target ;;
		esac
		set -- $v $n
		local ratio flag=""
		ratio=$(awk -v a="$1" -v b="$6" 'BEGIN {printf "%.2f", a / b}')
		[ "$4" = 0 ] && [ "$9" = 0 ] || flag=" (errors: $4 / $9)"
		printf '| `%s`%s | %s B | %s | %s | **%s** | %s / %s ms | %s / %s ms | %s / %s | %s |\n' \
			"$target" "$([ "$gz" = 1 ] && echo ' (gzip)' || true)" "$(size_of "$file")" "$1" "$6" "$ratio$flag" "$2" "$3" "$7" "$8" "$5" "${10}" "$load"
	done
}
report() {
	echo "# Vitrine against nginx"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`$command_line\` (see [README.md](README.md))."
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| machine | $(nproc) cores (\`nproc\`), $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM |"
	echo "| software | $go_version, $("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //'), wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}'), $(uname -sr) |"
	echo "| wrk | \`-t$threads -c$conns -d$duration\` after a \`-d$warmup\` warm-up, per endpoint and server; Vitrine first |"
	echo "| load average (1, 5, 15 min) | $load_before before, $load_after after |"
	echo
	table
	echo
	echo "- Vitrine's RSS after these runs: **$(mib "$rss_after") MiB** (peak $(mib "$hwm_after") MiB); nginx, master and $ncpu workers together: $(mib "$nginx_rss") MiB."
	echo "- Start-up, from exec to the first 200 of \`/widget\`: **${first_widget} ms** (the demo's placeholder gallery); to a synced gallery of $posts posts with its images mirrored: ${synced_ms} ms (fake Instagram in-process, mirror limited to 8 images/s)."
	if [ -n "$large" ]; then
		IFS='|' read -r cached lsync lidle lbusy lhwm lrps lsize <<<"$large"
		echo "- With **$cached cached posts** (\`-demo-posts $large_posts\`, \`widget.max_posts: $large_posts\`; synced and mirrored in ${lsync} s): the demo process's RSS is $(mib "$lidle") MiB when synced, $(mib "$lbusy") MiB after a $duration mixed wrk run ($lrps req/s; \`/widget.json\` is $lsize B gzip), peak $(mib "$lhwm") MiB. That process also holds the fake Instagram, which keeps every image it drew in memory."
	fi
	if [ -n "$plain" ]; then
		IFS='|' read -r pposts pfirst pidle pbusy phwm prps <<<"$plain"
		echo "- The same data served by a plain Vitrine (no \`-demo\`, restarted on that data directory; $pposts posts in \`/widget.json\`): first \`/widget\` after **${pfirst} ms**; RSS **$(mib "$pidle") MiB** idle, **$(mib "$pbusy") MiB** after a $duration mixed wrk run ($prps req/s), peak $(mib "$phwm") MiB."
	fi
	echo "- Upstream Instagram calls during a $up_duration mixed wrk run over all six paths (${up_requests} requests, ${up_rps} req/s, ${up_errors} errors): **${busy_calls}**, from ${busy_jobs} scheduled job runs (-demo syncs every 30 s, validates every minute)${busy_paths:+: $busy_paths}. The next $up_duration, idle: ${idle_calls} calls from ${idle_jobs} job runs${idle_paths:+: $idle_paths}. Calls caused by visitors (busy minus idle): **${visitor_calls}**."
}
out=$(report)
printf '\n%s\n' "$out"
if [ "$results" != "-" ]; then
	notes=""
	if [ -f "$results" ] && grep -q '^<!-- notes -->' "$results"; then
		notes=$(sed -n '/^<!-- notes -->/,$p' "$results")
	fi
	{ echo "$out"; [ -z "$notes" ] || printf '\n%s\n' "$notes"; } >"$results"
	say "bench: wrote $results"
fi
