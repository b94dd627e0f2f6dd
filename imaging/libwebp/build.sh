#!/usr/bin/env bash
# imaging/libwebp/build.sh — rebuilds webp.wasm.gz, the WebP encoder the
# mirror runs (imaging/webp.go): libwebp, from Debian's source of the
# version below, and encode.c, compiled to WebAssembly (wasm32-wasi) with
# Debian's clang. Only maintainers run it, after changing encode.c or the
# version; the build and CI use the committed webp.wasm.gz.
#
# Needs (Debian 12): apt-get install clang-14 lld-14 wasi-libc
#   libclang-rt-14-dev-wasm32 curl
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=1.2.4
sha256=7bf5a8a28cc69bcfa8cb214f2c3095703c6b73ac5fba4d5480c205331d9494df
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

curl -fsSL -o "$tmp/libwebp.tar.gz" "http://deb.debian.org/debian/pool/main/libw/libwebp/libwebp_$version.orig.tar.gz"
echo "$sha256  $tmp/libwebp.tar.gz" | sha256sum -c --quiet
tar -xzf "$tmp/libwebp.tar.gz" -C "$tmp"
src=$tmp/libwebp-$version

# Everything the encoder may reach; the linker keeps what encode uses.
# Without threads (one image at a time on one core) and without the SSE2
# and NEON paths, which WebAssembly lacks: the plain C ones.
sources=("$here/encode.c" "$src"/src/enc/*.c "$src"/src/dsp/*.c "$src"/src/utils/*.c "$src"/sharpyuv/*.c)
clang-14 --target=wasm32-wasi -O2 -DNDEBUG -mexec-model=reactor \
	-I"$src" -I"$src/src" \
	-Wl,--gc-sections -Wl,--strip-all \
	-o "$tmp/webp.wasm" "${sources[@]}"
gzip -9n <"$tmp/webp.wasm" >"$here/webp.wasm.gz"
cp "$src/COPYING" "$here/LICENSE.libwebp"
ls -l "$tmp/webp.wasm" "$here/webp.wasm.gz" >&2
