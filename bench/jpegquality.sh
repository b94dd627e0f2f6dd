#!/usr/bin/env bash
# bench/jpegquality.sh — which JPEG quality each mirrored width should be
# encoded at, and which WebP quality matches that JPEG: bytes and
# MS-SSIM/SSIM per width and quality, on real photographs. See
# bench/README.md ("JPEG quality per width", "Modern formats per width").
#
# Usage (from anywhere in the repository):
#
#   bench/jpegquality.sh                             # JPEG and WebP
#   JPEGQUALITY_FORMATS=jpeg bench/jpegquality.sh    # JPEG alone, ~4 minutes
#   JPEGQUALITY_FORMATS=jpeg,webp,avif bench/jpegquality.sh   # AVIF too: 48
#                                                    # minutes on 2 busy cores
#   JPEGQUALITY_Q=60,70,82,90 JPEGQUALITY_WEBP_Q=60-90/10 bench/jpegquality.sh
#                                                    # fewer qualities, faster
#
# The corpus: the 20 photographs listed in bench/jpegquality/corpus.tsv —
# landscapes, macro, a bird, pets, food, objects, architecture, text in
# photos, a portrait — each cropped to a post's 4:5 or 1:1 and scaled to
# at most 1080 px wide. They come from Debian 12 packages, downloaded with
# `apt-get download` and unpacked with `dpkg-deb` into the cache (never
# installed; only the listed files are kept):
#   plasma-workspace-wallpapers  KDE's wallpapers, LGPL-3 (photographers
#                                named in corpus.tsv)
#   mate-backgrounds             GPL-2+
#   lomiri-wallpapers-16.04      Ubuntu community wallpaper contest photos,
#                                CC-BY-4.0
#   lomiri-wallpapers-20.04      one, CC-BY-SA-3.0
#   opencv-doc                   OpenCV's scene-text samples, Apache-2.0 /
#                                BSD-3-Clause
#   python3-skimage              scikit-image's data: the astronaut (public
#                                domain, NASA) and the coffee cup (CC0)
# Each package's copyright file, kept in the cache beside its photographs,
# says who holds what. Nothing of them is kept in the repository. The
# versions are pinned below; should one no longer be available, the
# current version is measured instead, with a warning, and the results
# name the versions measured.
#
# Environment (defaults in brackets):
#   JPEGQUALITY_Q       JPEG qualities measured [50-95]
#   JPEGQUALITY_FORMATS formats measured, JPEG always among them [jpeg,webp]
#   JPEGQUALITY_WEBP_Q  WebP qualities measured [40-65/5,66-100]
#   JPEGQUALITY_AVIF_Q  AVIF qualities measured, lo-hi/step [50-95/5]
#   JPEGQUALITY_AVIF_SPEED  libaom's speed, 0 (slowest) to 10 [8]
#   JPEGQUALITY_CACHE   where the packages are unpacked, in a directory
#                       named after a hash of the pinned versions, so that
#                       a new pin fetches afresh
#                       [${XDG_CACHE_HOME:-~/.cache}/vitrine-bench/jpegquality]
#   BENCH_RESULTS       results file; "-" writes none [bench/RESULTS.md]
#   BENCH_KEEP=1        keep the temporary directory (the crops as PNG and
#                       every sample as TSV)
#
# Needs: go, apt-get (a Debian with bookworm's packages; run `apt-get
# update` first if it has no lists) and dpkg-deb.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/bench/section.sh"
qualities=${JPEGQUALITY_Q:-50-95}
formats=${JPEGQUALITY_FORMATS:-jpeg,webp}
webp_qualities=${JPEGQUALITY_WEBP_Q:-40-65/5,66-100}
avif_qualities=${JPEGQUALITY_AVIF_Q:-50-95/5}
avif_speed=${JPEGQUALITY_AVIF_SPEED:-8}
results=${BENCH_RESULTS:-$root/bench/RESULTS.md}
corpus=$root/bench/jpegquality/corpus.tsv
command_line="$( (env | grep -E '^(JPEGQUALITY|BENCH)_' || true) | sort | tr '\n' ' ')bench/jpegquality.sh"

say() { printf '%s\n' "$*" >&2; }
die() { say "jpegquality: $*"; exit 1; }

for t in go apt-get dpkg-deb sha256sum; do command -v "$t" >/dev/null || die "$t is needed"; done

# ---------------------------------------------------------------- corpus
# The versions measured; another version of a package may have moved or
# changed a file, so a pinned one is asked for first.
packages=(
	plasma-workspace-wallpapers=4:5.27.5-2
	mate-backgrounds=1.26.0-1
	lomiri-wallpapers-16.04=20.04.0-2
	lomiri-wallpapers-20.04=20.04.0-2
	opencv-doc=4.6.0+dfsg-12
	python3-skimage=0.19.3-8
)
pins=$(printf '%s\n' "${packages[@]}" | sha256sum | cut -c1-12)
cache=${JPEGQUALITY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vitrine-bench/jpegquality}/pins-$pins
mkdir -p "$cache/debs"
versions=()
for p in "${packages[@]}"; do
	name=${p%%=*} pinned=${p#*=}
	# Kept from a run before, unless the list now names a file it lacks.
	files=$(awk -F'\t' -v p="$name" '!/^#/ && $3 == p {print "./" $4}' "$corpus")
	have=1
	[ -f "$cache/$name.version" ] || have=""
	for f in $files; do [ -f "$cache/$name/$f" ] || have=""; done
	if [ -z "$have" ]; then
		say "jpegquality: fetching $p"
		rm -f "$cache/debs/${name}"_*.deb "$cache/$name.version"
		if ! (cd "$cache/debs" && apt-get download "$p" >&2); then
			say "jpegquality: WARNING: $p is not available; fetching the current $name instead"
			(cd "$cache/debs" && apt-get download "$name" >&2) || die "cannot download $name (apt-get update first?)"
		fi
		deb=$(printf '%s\n' "$cache/debs/${name}"_*.deb)
		# Only the photographs the list names, and the copyright file.
		rm -rf "$cache/$name.tmp"
		mkdir -p "$cache/$name.tmp"
		# shellcheck disable=SC2086 # one path per word; none has spaces
		dpkg-deb --fsys-tarfile "$deb" |
			tar -x -C "$cache/$name.tmp" "./usr/share/doc/$name/copyright" $files ||
			die "$name: the files in $corpus are not all in the package"
		rm -rf "$cache/$name"
		mv "$cache/$name.tmp" "$cache/$name"
		dpkg-deb -f "$deb" Version >"$cache/$name.version"
		rm -f "$deb"
	fi
	version=$(cat "$cache/$name.version")
	if [ "$version" = "$pinned" ]; then
		versions+=("$name $version")
	else
		say "jpegquality: WARNING: measuring $name $version, not the pinned $pinned"
		versions+=("$name $version (**not the pinned $pinned**)")
	fi
done

# ---------------------------------------------------------------- measure
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vitrine-jpegquality.XXXXXX")
cleanup() { if [ "${BENCH_KEEP:-}" = 1 ]; then say "jpegquality: kept $tmp"; else rm -rf "$tmp"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# nodynamic: gen2brain's packages would use a system libwebp or libavif
# found at run time; the release binary is static and runs their
# WebAssembly, so that is what is measured.
(cd "$root" && go build -tags nodynamic -o "$tmp/jpegquality" ./bench/jpegquality)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
"$tmp/jpegquality" -corpus "$corpus" -root "$cache" -q "$qualities" -formats "$formats" \
	-webp-q "$webp_qualities" -avif-q "$avif_qualities" -avif-speed "$avif_speed" \
	-crops "$tmp/crops" -raw "$tmp/samples.tsv" -modern "$tmp/modern.md" >"$tmp/table.md"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
rev=$(cd "$root" && git rev-parse --short HEAD)
(cd "$root" && git diff --quiet HEAD -- . ':!bench/RESULTS.md') || rev="$rev+changes"

# section TITLE FILE prints a section of the results: how it was measured,
# then FILE.
section() {
	printf '## %s\n\n' "$1"
	printf 'Measured %s by `%s` (see [README.md](README.md)) at `%s`, %s; %s, %s cores, load average %s at the start, %s at the end.\n\n' \
		"$started" "$command_line" "$rev" "$(go version | cut -d' ' -f3)" "$(uname -m)" "$(nproc)" "$load_start" "$load_end"
	versions_line=$(printf '%s, ' "${versions[@]}")
	printf 'Photographs from the Debian packages %s.\n\n' "${versions_line%, }"
	cat "$2"
}
out=$(section "JPEG quality per width" "$tmp/table.md")
printf '\n%s\n' "$out"
if [ "$results" != "-" ]; then
	write_section jpegquality "$out" "$results" "$tmp"
fi
if [ -s "$tmp/modern.md" ]; then
	modern=$(section "Modern formats per width" "$tmp/modern.md")
	printf '\n%s\n' "$modern"
	if [ "$results" != "-" ]; then
		write_section modernformats "$modern" "$results" "$tmp"
	fi
fi
[ "$results" = "-" ] || say "jpegquality: wrote $results"
