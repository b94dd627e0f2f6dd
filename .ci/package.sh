#!/usr/bin/env bash
# CI's packaging checks, after the tests (.ci/run; CI_PACKAGE=0 skips them):
#
#   1. deploy/release.sh: both static binaries, SHA256SUMS, the arm64
#      binary under qemu-user (version, and -demo answering /healthz)
#   2. reproducible: amd64 built again from a copy of the tree at another
#      path, without .git, gives the same sha256
#   3. deploy/vitrine.service: systemd-analyze verify and security (exposure
#      at most 2.0), and the binary run with the unit's environment, user
#      and umask (PID 1 here is not systemd, so the unit itself cannot run)
#   4. deploy/Containerfile: the image (at most 40 MB); -demo answers on the
#      published port; a real configuration keeps its data in a volume
#      across `podman rm -f` and a new container
#
# Each step prints its time. Step 1 is nearly all of it: from an empty Go
# build cache (as in CI: the tests' -race build shares nothing with it),
# 838 s on two cores that other jobs kept at a load of 12-14; with a warm
# cache, about a minute. Steps 2-4 took under a minute together (2: about
# 20 s, 626 s with PACKAGE_REPRO_COLD=1; 3: 2-4 s; 4: 25-55 s).
set -euo pipefail
cd "$(dirname "$0")/.."

total=$SECONDS
timed() {
  local name=$1 start=$SECONDS
  shift
  echo "== package: $name"
  "$@"
  echo "== package: $name took $((SECONDS - start)) s"
}

work=$(mktemp -d)
# Containers, the volume and the image are named after this run so that
# parallel runs on one machine do not meet.
run_id=vitrine-ci-$$
image=localhost/$run_id:latest
cleanup() {
  if command -v podman >/dev/null; then
    podman rm -f -i -v "$run_id-demo" "$run_id-real" >/dev/null 2>&1 || true
    podman volume rm -f "$run_id-data" >/dev/null 2>&1 || true
    podman rmi -f "$image" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# free_port prints a loopback port nothing answers on.
free_port() {
  local p
  while :; do
    p=$(((RANDOM % 20000) + 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# wait_http URL prints the body once URL answers 2xx; fails after 60 s.
wait_http() {
  local _
  for _ in $(seq 1 120); do
    curl -fsS --max-time 2 "$1" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "no answer from $1" >&2
  return 1
}

# status_of URL [curl args] prints the HTTP status.
status_of() {
  local url=$1
  shift
  curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$@" "$url"
}

expect_status() {
  local want=$1 url=$2 got
  shift 2
  got=$(status_of "$url" "$@")
  if [ "$got" != "$want" ]; then
    echo "GET $url: $got, want $want" >&2
    return 1
  fi
  echo "  GET $url: $got"
}

# need CMD PKG...: installs the Debian packages PKG when a CMD is missing
# (CI machines start without podman, and a container image may lack
# systemd).
need() {
  local missing=()
  while [ $# -gt 0 ]; do
    command -v "$1" >/dev/null || missing+=("$2")
    shift 2
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "  installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------- 1
release() { deploy/release.sh; }

# ---------------------------------------------------------------- 2
# Building both architectures twice from scratch would double step 1's
# minutes. Instead amd64 is built once more from a copy of the tree at
# another path, without .git, with the same stamps (dist/release.env): the
# clock, the VCS state or the link would show in the bytes. The compiled
# packages come from the build cache (-trimpath keeps the directory out of
# their cache keys), so this redoes the link alone, about 20 s, and does not
# catch a nondeterministic compile; PACKAGE_REPRO_COLD=1 builds with an
# empty cache instead (as long as step 1's amd64 build). That a build path
# is not in the bytes is checked directly: no path of this machine's
# checkout, Go installation, module cache or build cache is in either binary.
reproducible() {
  if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "  skipped: the tree has uncommitted changes, which is no release build"
    return 0
  fi
  mkdir -p "$work/src"
  git archive HEAD | tar -x -C "$work/src"
  # Each path with what would follow it in a leak, so that a short
  # checkout path cannot match by chance.
  local bin p
  for bin in dist/vitrine-linux-amd64 dist/vitrine-linux-arm64; do
    for p in "$PWD/cli/" "$(go env GOROOT)/src/" "$(go env GOMODCACHE)/github.com/" /tmp/go-build; do
      if grep -qaF "$p" "$bin"; then
        echo "$bin holds the build path $p" >&2
        return 1
      fi
    done
  done
  echo "  no build path in the binaries"
  local cache=()
  [ "${PACKAGE_REPRO_COLD:-0}" = 0 ] || cache=(GOCACHE="$work/gocache")
  # release.env: the first build's version, commit and date.
  (
    set -a
    # shellcheck source=/dev/null
    . dist/release.env
    exec env "${cache[@]}" DIST="$work/dist" "$work/src/deploy/release.sh" amd64
  ) | sed 's/^/  /'
  local a b
  a=$(sha256sum <dist/vitrine-linux-amd64 | cut -d' ' -f1)
  b=$(sha256sum <"$work/dist/vitrine-linux-amd64" | cut -d' ' -f1)
  if [ "$a" != "$b" ]; then
    echo "not reproducible: dist/vitrine-linux-amd64 is $a, the rebuild at $work/src is $b" >&2
    return 1
  fi
  echo "  same bytes: sha256 $a"
}

# ---------------------------------------------------------------- 3
systemd_unit() {
  need systemd-analyze systemd
  # verify checks that ExecStart's binary exists: a copy of the unit points
  # at the one just built.
  local bin
  bin=$(realpath dist/vitrine-linux-amd64)
  mkdir -p "$work/unit"
  sed "s|^ExecStart=/usr/local/bin/vitrine|ExecStart=$bin|" deploy/vitrine.service >"$work/unit/vitrine.service"
  grep -q "^ExecStart=$bin " "$work/unit/vitrine.service"
  local out
  out=$(systemd-analyze verify "$work/unit/vitrine.service" 2>&1)
  if [ -n "$out" ]; then
    echo "systemd-analyze verify is not clean:" >&2
    echo "$out" >&2
    return 1
  fi
  echo "  systemd-analyze verify: clean"
  local level
  level=$(systemd-analyze security --offline=true "$work/unit/vitrine.service" 2>&1 |
    sed -n 's/.*Overall exposure level for vitrine.service: \([0-9.]*\).*/\1/p')
  if [ -z "$level" ] || ! awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
    echo "systemd-analyze security: exposure ${level:-unknown}, want 2.0 or less" >&2
    return 1
  fi
  echo "  systemd-analyze security: exposure $level"

  # The binary as the unit starts it: its ExecStart arguments, its
  # Environment= lines (%S, the state root, in the work directory), then
  # the EnvironmentFile (which overrides them, as in systemd), a user of its
  # own and the unit's umask. The file's values are what an owner writes.
  local state=$work/state port hash args env_lines=() line
  mkdir -p "$state/vitrine"
  chmod 0711 "$work" "$state"
  port=$(free_port)
  hash=$(printf '%s' 'a long ci passphrase' | dist/vitrine-linux-amd64 hash-password)
  {
    echo "VITRINE_SERVER_PUBLIC_URL=http://127.0.0.1:$port"
    echo "VITRINE_SERVER_ADDR=127.0.0.1:$port"
    echo "VITRINE_ADMIN_PASSWORD_HASH=$hash"
    echo "VITRINE_INSTAGRAM_CLIENT_ID=1234567890"
    echo "VITRINE_INSTAGRAM_CLIENT_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  } >"$work/unit.env"
  chmod 0600 "$work/unit.env"
  while IFS= read -r line; do
    env_lines+=("${line//%S/$state}")
  done < <(sed -n 's/^Environment=//p' deploy/vitrine.service)
  while IFS= read -r line; do
    env_lines+=("$line")
  done <"$work/unit.env"
  args=$(sed -n 's|^ExecStart=/usr/local/bin/vitrine||p' deploy/vitrine.service)
  cp dist/vitrine-linux-amd64 "$work/vitrine"
  chmod 0755 "$work/vitrine"
  local umask_value as_user=()
  umask_value=$(sed -n 's/^UMask=//p' deploy/vitrine.service)
  if [ "$(id -u)" = 0 ]; then
    # A stand-in for the unit's vitrine user: an unused uid that owns the
    # state directory, as systemd makes it.
    chown 61999:61999 "$state/vitrine"
    chmod 0700 "$state/vitrine"
    as_user=(setpriv --reuid=61999 --regid=61999 --clear-groups --no-new-privs)
  fi
  # shellcheck disable=SC2086 # ExecStart's arguments are words
  (umask "$umask_value" && exec "${as_user[@]}" env -i "${env_lines[@]}" "$work/vitrine" $args) >"$work/unit.log" 2>&1 &
  local pid=$!
  if ! wait_http "http://127.0.0.1:$port/readyz" >/dev/null; then
    cat "$work/unit.log" >&2
    kill "$pid" 2>/dev/null || true
    return 1
  fi
  expect_status 200 "http://127.0.0.1:$port/healthz"
  expect_status 200 "http://127.0.0.1:$port/readyz"
  expect_status 200 "http://127.0.0.1:$port/widget"
  # UMask=0077: what it wrote is its own alone.
  local loose
  loose=$(find "$state/vitrine" -mindepth 1 -perm /077 -printf '%m %p\n')
  if [ -n "$loose" ]; then
    echo "files readable by others under the state directory:" >&2
    echo "$loose" >&2
    kill "$pid"
    return 1
  fi
  if [ "$(id -u)" = 0 ] && [ -n "$(find "$state/vitrine" -mindepth 1 ! -uid 61999)" ]; then
    echo "files under the state directory not owned by the service's user" >&2
    kill "$pid"
    return 1
  fi
  echo "  state directory: $(find "$state/vitrine" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')(the user's alone)"
  # SIGTERM, as systemctl stop sends: a clean exit.
  kill -TERM "$pid"
  local code=0
  wait "$pid" || code=$?
  if [ "$code" != 0 ]; then
    echo "vitrine exited $code on SIGTERM; its log:" >&2
    cat "$work/unit.log" >&2
    return 1
  fi
  echo "  SIGTERM: exit 0"
}

# ---------------------------------------------------------------- 4
# This machine's podman needs runc named and explicit ulimits; they are
# not part of how Vitrine runs, only of this CI host.
podman_run() {
  podman --runtime runc run --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 "$@"
}

container_build() {
  need podman podman runc runc
  podman build -q -t "$image" -f deploy/Containerfile dist >/dev/null
  local size
  size=$(podman image inspect --format '{{.Size}}' "$image")
  if [ "$size" -gt 40000000 ]; then
    echo "image $image is $size bytes, over 40 MB" >&2
    return 1
  fi
  echo "  image: $((size / 1000000)) MB ($size bytes)"
}

container_demo() {
  local port
  port=$(free_port)
  podman_run -d --name "$run_id-demo" -p "127.0.0.1:$port:8080" "$image" -demo >/dev/null
  if ! wait_http "http://127.0.0.1:$port/healthz" >/dev/null; then
    podman logs "$run_id-demo" >&2
    return 1
  fi
  expect_status 200 "http://127.0.0.1:$port/healthz"
  expect_status 200 "http://127.0.0.1:$port/widget"
  # -demo keeps its throw-away data in a temporary directory: in the image,
  # under /data.
  local vol
  vol=$(podman inspect --format '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Source}}{{end}}{{end}}' "$run_id-demo")
  if ! compgen -G "$vol/vitrine-demo-*/vitrine.db" >/dev/null; then
    echo "-demo wrote no database under /data ($vol)" >&2
    return 1
  fi
  echo "  -demo's database is under /data: $(cd "$vol" && echo vitrine-demo-*/vitrine.db)"
  # Vitrine is PID 1 in the container: `podman stop`'s SIGTERM must still
  # end it cleanly, not the SIGKILL after the timeout.
  podman stop -t 20 "$run_id-demo" >/dev/null
  local code
  code=$(podman inspect --format '{{.State.ExitCode}}' "$run_id-demo")
  if [ "$code" != 0 ]; then
    echo "-demo exited $code on podman stop" >&2
    podman logs "$run_id-demo" >&2
    return 1
  fi
  echo "  podman stop: exit 0"
  podman rm -f -v "$run_id-demo" >/dev/null
}

# A real configuration, all by VITRINE_* variables (the secret and the
# password hash too, from a file like the systemd unit's), data in a named
# volume. Signing in writes a session to the database; after `podman rm -f`,
# a new container on the volume must still know that session.
container_real() {
  local port url hash
  port=$(free_port)
  url=http://127.0.0.1:$port
  hash=$(printf '%s' 'a long ci passphrase' | dist/vitrine-linux-amd64 hash-password)
  {
    echo "VITRINE_SERVER_PUBLIC_URL=$url"
    echo "VITRINE_ADMIN_PASSWORD_HASH=$hash"
    echo "VITRINE_INSTAGRAM_CLIENT_ID=1234567890"
    echo "VITRINE_INSTAGRAM_CLIENT_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  } >"$work/container.env"
  podman volume create "$run_id-data" >/dev/null
  start_real() {
    podman_run -d --name "$run_id-real" -p "127.0.0.1:$port:8080" -v "$run_id-data:/data" \
      --env-file "$work/container.env" "$image" >/dev/null
    if ! wait_http "$url/readyz" >/dev/null; then
      podman logs "$run_id-real" >&2
      return 1
    fi
  }
  start_real
  # Without a session the dashboard sends to the sign-in page.
  expect_status 302 "$url/admin"
  local jar=$work/cookies csrf
  csrf=$(curl -fsS -c "$jar" -b "$jar" "$url/admin/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
  if [ -z "$csrf" ]; then
    echo "no csrf_token on $url/admin/login" >&2
    return 1
  fi
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" \
    --data-urlencode "csrf_token=$csrf" --data-urlencode 'password=a long ci passphrase' "$url/admin/login")
  if [ "$code" != 303 ]; then
    echo "sign-in answered $code, want 303" >&2
    return 1
  fi
  expect_status 200 "$url/admin" -b "$jar"
  echo "  signed in; removing the container"
  podman rm -f "$run_id-real" >/dev/null
  start_real
  expect_status 200 "$url/admin" -b "$jar"
  echo "  a new container on the volume still has the session"
  # The CLI inside the image, on the same data: a backup into the volume.
  podman exec "$run_id-real" /vitrine backup /data/ci-backup.db | sed 's/^/  /'
  podman rm -f "$run_id-real" >/dev/null
}

# Arguments pick steps (release reproducible systemd image demo real), for
# trying one again; the default is all, in order. demo and real need image.
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(release reproducible systemd image demo real)
for step in "${steps[@]}"; do
  case $step in
    release) timed "deploy/release.sh (both binaries, arm64 smoke test)" release ;;
    reproducible) timed "reproducible amd64 rebuild" reproducible ;;
    systemd) timed "systemd unit" systemd_unit ;;
    image) timed "container image build" container_build ;;
    demo) timed "container -demo" container_demo ;;
    real) timed "container with a real configuration and a volume" container_real ;;
    *) echo "package.sh: unknown step $step" >&2; exit 2 ;;
  esac
done
echo "== package: all steps took $((SECONDS - total)) s"
