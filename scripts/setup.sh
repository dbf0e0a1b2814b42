#!/usr/bin/env bash
# Installs what the build needs on Debian 12, idempotently, then builds LuaJIT 2.1
# with hook checks in compiled code (LUAJIT_ENABLE_CHECKHOOK) from Debian's source
# package. Safe to run on every `make`: when everything is present it returns in
# well under a second.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
deps_dir=${TE_DEPS_DIR:-$root/.deps}

packages=(
  build-essential cmake ninja-build pkg-config xz-utils ca-certificates patch
  libboost-dev libtomlplusplus-dev catch2 libcli11-dev
  libfmt-dev libspdlog-dev libssl-dev libsimdjson-dev
  libmsgpack-cxx-dev liblz4-dev libxxhash-dev zlib1g-dev
  # make bench: Google Benchmark, and python3 for bench/report.py
  libbenchmark-dev python3
  # The HTML report tests load the reports in headless Chromium (with a font
  # so text renders the same everywhere).
  chromium fonts-dejavu-core
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- LuaJIT 2.1 with hook checks ------------------------------------------------
# Debian's prebuilt LuaJIT does not check hooks inside compiled traces, so a
# JIT-compiled `while true do end` could never be interrupted. We build our own
# from the packaged source (never vendored) with:
#   LUAJIT_ENABLE_CHECKHOOK   traces honour asynchronously armed hooks (watchdog)
#   LUAJIT_SECURITY_PRNG=0    fixed internal PRNG seed and
#   LUAJIT_SECURITY_STRID=0   linear string ids: table iteration order over string
#                             keys is reproducible run to run (determinism); the
#                             cost is hash-flood hardening, see docs/sandbox.md
lj_pkg=luajit2
lj_flags="-DLUAJIT_ENABLE_CHECKHOOK -DLUAJIT_SECURITY_PRNG=0 -DLUAJIT_SECURITY_STRID=0"
# Our own fixes to that source (scripts/luajit-patches/*.patch, applied in name
# order; each says why). A changed patch set rebuilds LuaJIT like changed flags.
lj_patches=("$root"/scripts/luajit-patches/*.patch)
lj_patch_sum=$(cat "${lj_patches[@]}" | sha256sum | cut -c1-16)
lj_prefix=$deps_dir/luajit
lj_stamp=$lj_prefix/.built-with
lj_patch_stamp=$lj_prefix/.patched-with
lj_ready() {
  [ -f "$lj_stamp" ] && [ "$(cat "$lj_stamp")" = "$lj_flags" ] &&
    [ -f "$lj_patch_stamp" ] && [ "$(cat "$lj_patch_stamp")" = "$lj_patch_sum" ] &&
    [ -f "$lj_prefix/lib/libluajit-5.1.a" ] &&
    [ -x "$lj_prefix/bin/luajit" ]  # compiles the trusted Lua to bytecode (cmake/embed_lua.cmake)
}
if lj_ready; then
  exit 0
fi

mkdir -p "$deps_dir"
# Several checkouts may share one deps folder: build under a lock, and re-check
# once we hold it (another process may have just finished the build).
exec 9>"$deps_dir/.lock"
flock 9
if lj_ready; then
  exit 0
fi

src_dir=$deps_dir/src
mkdir -p "$src_dir"
orig=$(ls "$src_dir"/${lj_pkg}_*.orig.tar.* 2>/dev/null | head -n1 || true)
if [ -z "$orig" ]; then
  if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "setup: adding a deb-src entry for Debian bookworm (to fetch the LuaJIT source package)"
    as_root tee /etc/apt/sources.list.d/trading-engine-deb-src.sources >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    as_root apt-get update -qq
  fi
  echo "setup: fetching the $lj_pkg source package"
  (cd "$src_dir" && apt-get source --download-only -qq "$lj_pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  orig=$(ls "$src_dir"/${lj_pkg}_*.orig.tar.* 2>/dev/null | head -n1 || true)
  [ -n "$orig" ] || { echo "setup: could not fetch the $lj_pkg source package (is a deb-src entry reachable?)" >&2; exit 1; }
fi

build_dir=$deps_dir/luajit-build
rm -rf "$build_dir"
mkdir -p "$build_dir"
tar -xf "$orig" -C "$build_dir" --strip-components=1
for p in "${lj_patches[@]}"; do
  patch -s -p1 -d "$build_dir" <"$p" || { echo "setup: could not apply $p to $(basename "$orig")" >&2; exit 1; }
done
echo "setup: building LuaJIT from $(basename "$orig") with $lj_flags and ${#lj_patches[@]} patch(es)"
jobs=$(nproc 2>/dev/null || echo 2)
make -C "$build_dir" -j"$jobs" -s BUILDMODE=static XCFLAGS="$lj_flags" CFLAGS="-O2 -fPIC" >"$deps_dir/luajit-build.log" 2>&1 \
  || { tail -n 30 "$deps_dir/luajit-build.log" >&2; echo "setup: LuaJIT build failed (log: $deps_dir/luajit-build.log)" >&2; exit 1; }
rm -rf "$lj_prefix"
mkdir -p "$lj_prefix/lib" "$lj_prefix/include" "$lj_prefix/bin"
cp "$build_dir/src/libluajit.a" "$lj_prefix/lib/libluajit-5.1.a"
cp "$build_dir/src/luajit" "$lj_prefix/bin/luajit"
for h in lua.h lualib.h lauxlib.h luaconf.h lua.hpp luajit.h; do cp "$build_dir/src/$h" "$lj_prefix/include/"; done
mkdir -p "$lj_prefix/share/jit" && cp "$build_dir"/src/jit/*.lua "$lj_prefix/share/jit/"
basename "$orig" >"$lj_prefix/source-package"
printf '%s' "$lj_flags" >"$lj_stamp"
printf '%s' "$lj_patch_sum" >"$lj_patch_stamp"
rm -rf "$build_dir"
echo "setup: LuaJIT ready in $lj_prefix"
