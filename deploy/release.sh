#!/usr/bin/env bash
# Builds the release binaries into dist/: vitrine-linux-amd64 and
# vitrine-linux-arm64, statically linked (the cgo SQLite included, so they
# run on any Linux, and FROM scratch), reproducible (the same commit gives
# the same bytes), and SHA256SUMS. Then it runs the arm64 binary under
# qemu-user: `version`, and -demo answering /healthz.
#
#   deploy/release.sh              both architectures
#   deploy/release.sh amd64        one of them (no SHA256SUMS; the smoke
#                                  test only for arm64; dist/image/, the
#                                  container's other inputs, only for amd64)
#
# Environment (not VITRINE_ names: vitrine refuses unknown ones):
#   DIST             output directory (default dist)
#   RELEASE_VERSION  version stamp (default: the tag on HEAD, else dev)
#   RELEASE_COMMIT   commit stamp (default: git rev-parse HEAD)
#   RELEASE_DATE     date stamp (default: HEAD's commit date, in UTC)
#   RELEASE_SMOKE=0  skips the arm64 smoke test (CI compiles ahead with it)
# It writes the three to dist/release.env.
# The three RELEASE_ ones let a copy of the tree without .git build the
# same bytes (.ci/package.sh checks reproducibility that way).
#
# Missing build tools (the arm64 cross compiler, qemu-user, file) are
# installed with apt-get, as CI machines start without them.
set -euo pipefail
cd "$(dirname "$0")/.."

dist=${DIST:-dist}
arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(amd64 arm64)
for a in "${arches[@]}"; do
  case $a in amd64 | arm64) ;; *) echo "release.sh: unknown architecture $a (amd64 or arm64)" >&2; exit 2 ;; esac
done

say() { echo "release: $*"; }

# The Debian packages the build needs, installed when missing (CI machines
# start without the cross compiler and qemu). The static libc (libc.a) is
# in libc6-dev, and in libc6-dev-arm64-cross for the cross compiler.
pkgs=(gcc libc6-dev file curl)
for a in "${arches[@]}"; do
  case $a in
    amd64) pkgs+=(ca-certificates) ;; # the container image's CA bundle comes from here
    arm64) pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static) ;;
  esac
done
if command -v dpkg-query >/dev/null; then
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "release.sh: missing Debian packages; as root: apt-get install ${missing[*]}" >&2
      exit 1
    fi
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# The stamps: from git unless given. The date is the commit's, not the
# clock's, so that building again gives the same bytes.
version=${RELEASE_VERSION:-}
commit=${RELEASE_COMMIT:-}
date=${RELEASE_DATE:-}
dirty=
if [ -z "$version" ] || [ -z "$commit" ] || [ -z "$date" ]; then
  if ! git rev-parse --git-dir >/dev/null 2>&1; then
    echo "release.sh: not in a git checkout: set RELEASE_VERSION, RELEASE_COMMIT and RELEASE_DATE" >&2
    exit 2
  fi
  [ -n "$version" ] || version=$(git describe --tags --exact-match 2>/dev/null || echo dev)
  [ -n "$commit" ] || commit=$(git rev-parse HEAD)
  [ -n "$date" ] || date=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ)
  if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    dirty=1
  fi
fi

# -buildvcs=false: the toolchain's copy of the VCS state would make the bytes
# depend on .git being there; the -X stamps say the same. A tree with
# uncommitted changes is no release: then the toolchain records that it was
# modified (`vitrine version` says "+modified") and the version is dev.
buildvcs=-buildvcs=false
if [ -n "$dirty" ]; then
  say "WARNING: uncommitted changes: building version dev, marked modified, not reproducible"
  version=dev
  buildvcs=-buildvcs=true
fi
say "version $version, commit $commit, date $date"
mkdir -p "$dist"
# The stamps, for building the same bytes again elsewhere (.ci/package.sh).
printf 'RELEASE_VERSION=%s\nRELEASE_COMMIT=%s\nRELEASE_DATE=%s\n' "$version" "$commit" "$date" >"$dist/release.env"

# -trimpath: no build directory in the binary. -buildid=: no toolchain build
# ID (it is content-derived, but empty is simplest to compare). osusergo and
# netgo keep glibc's NSS (which a static binary cannot load) out;
# sqlite_omit_load_extension drops SQLite's dlopen.
ldflags="-s -w -buildid= -linkmode external -extldflags -static"
ldflags+=" -X vitrine/buildinfo.Version=$version -X vitrine/buildinfo.Commit=$commit -X vitrine/buildinfo.Date=$date"
# build ARCH builds and checks one binary.
build() {
  local a=$1 out="$dist/vitrine-linux-$1" cc=gcc start=$SECONDS desc
  [ "$a" = arm64 ] && cc=aarch64-linux-gnu-gcc
  say "building $out (CC=$cc)"
  CGO_ENABLED=1 GOOS=linux GOARCH=$a CC=$cc go build "$buildvcs" -trimpath \
    -tags osusergo,netgo,sqlite_omit_load_extension -ldflags "$ldflags" -o "$out" .
  desc=$(file -b "$out")
  case $desc in
    *"statically linked"*) ;;
    *) echo "release.sh: $out is not static: $desc" >&2; return 1 ;;
  esac
  say "built $out in $((SECONDS - start)) s, $(du -m "$out" | cut -f1) MB: $desc"
}
# The architectures build side by side: much of a cold build is the C
# compiler on SQLite's one large file, on one core, so two builds at once
# fill two cores better than one after the other (measured on two cores
# shared with other work: 838 s for both, from an empty build cache,
# against 472 + 522 s in turn).
say "building ${arches[*]} (from a cold build cache: minutes, mostly the C compiler on SQLite)"
pids=()
for a in "${arches[@]}"; do
  build "$a" &
  pids+=($!)
done
failed=
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
[ -z "$failed" ] || { echo "release.sh: a build failed" >&2; exit 1; }

# deploy/Containerfile's other inputs: it builds FROM scratch, so the build
# host's CA bundle is copied next to the binary, with the empty /data
# directory (mode 0700) that the image gives its user.
for a in "${arches[@]}"; do
  [ "$a" = amd64 ] || continue
  rm -rf "$dist/image"
  mkdir -p "$dist/image/rootfs"
  mkdir -m 0700 "$dist/image/rootfs/data"
  cp /etc/ssl/certs/ca-certificates.crt "$dist/image/ca-certificates.crt"
  say "staged $dist/image/ for deploy/Containerfile (CA bundle, empty /data)"
done

# SHA256SUMS names the files without the directory, for `sha256sum -c` next
# to the downloads. Only when both are built, so a partial run cannot leave
# a sums file that lies about the other.
if [ ${#arches[@]} -eq 2 ]; then
  (cd "$dist" && sha256sum vitrine-linux-amd64 vitrine-linux-arm64 >SHA256SUMS)
  say "wrote $dist/SHA256SUMS:"
  sed 's/^/  /' "$dist/SHA256SUMS"
fi

# The arm64 binary cannot run here natively: qemu-user runs it, to catch a
# broken cross build before anyone downloads it.
for a in "${arches[@]}"; do
  if [ "$a" != arm64 ] || [ "${RELEASE_SMOKE:-1}" = 0 ]; then continue; fi
  bin=$dist/vitrine-linux-arm64
  say "smoke test under qemu-aarch64-static: version"
  got=$(qemu-aarch64-static "$bin" version)
  echo "  $got"
  case $got in "vitrine $version (commit ${commit:0:12}"*) ;; *)
    echo "release.sh: arm64 version line is not the stamped one" >&2; exit 1 ;; esac

  # A random high loopback port (if it is taken, the log says so).
  port=$(( (RANDOM % 20000) + 30000 ))
  say "smoke test under qemu-aarch64-static: -demo on 127.0.0.1:$port, GET /healthz"
  log=$(mktemp)
  # -demo keeps its data in a fresh temporary directory and needs no
  # config; VITRINE_CONFIG is dropped so a developer's own is not read.
  env -u VITRINE_CONFIG qemu-aarch64-static "$bin" -demo -addr "127.0.0.1:$port" >"$log" 2>&1 &
  pid=$!
  ok=
  for _ in $(seq 1 120); do
    if body=$(curl -fsS --max-time 2 "http://127.0.0.1:$port/healthz" 2>/dev/null) && [ "$body" = ok ]; then
      ok=1; break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ -z "$ok" ]; then
    echo "release.sh: the arm64 -demo did not answer /healthz; its log:" >&2
    cat "$log" >&2; rm -f "$log"; exit 1
  fi
  rm -f "$log"
  say "arm64 -demo answered /healthz: ok"
done
say "done: ${arches[*]} in $dist"
