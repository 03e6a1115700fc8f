#!/usr/bin/env bash
# launch.sh STEP [ARGS...] — the one entry point of every action.yml: find the
# `actions` binary for this checkout of the action and run `actions STEP`.
#
#   1. $ACTIONS_BINARY, when set (tests, or a binary you built yourself);
#   2. a release: manifest.txt beside this script names the version and the
#      sha256 of each platform's binary; the binary is taken from the tool
#      cache or downloaded from the release, verified, then cached;
#   3. otherwise (a branch or a SHA between releases) build from the action's
#      own source with the Go toolchain, cached by a hash of that source.
#
# The action's location comes from where this script is (github.action_path),
# never from github.action_ref, which is empty inside composite actions
# (actions/runner#2473).
set -euo pipefail

step="${1:?usage: launch.sh STEP [ARGS...]}"
shift

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
manifest="$here/manifest.txt"

die() { echo "::error::cicd-excellence/actions: $*" >&2; exit 1; }
log() { echo "cicd-excellence/actions: $*" >&2; }

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"
  elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$@"
  else die "neither sha256sum nor shasum is installed: cannot verify the actions binary"
  fi
}

cache_root() {
  local base="${RUNNER_TOOL_CACHE:-}"
  [ -n "$base" ] || base="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}"
  echo "$base/cicd-excellence-actions"
}

platform() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT) os=windows ;;
    *) os="unsupported-$(uname -s)" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) arch="unsupported-$(uname -m)" ;;
  esac
  echo "$os $arch"
}

# from_release prints the path of a verified release binary.
from_release() {
  local version repo os arch name want dir bin url tmp got
  version="$(sed -n 's/^version //p' "$manifest" | head -n1)"
  repo="$(sed -n 's/^repository //p' "$manifest" | head -n1)"
  [ -n "$version" ] && [ -n "$repo" ] || die "$manifest has no version or repository line"
  read -r os arch < <(platform)
  name="actions_${os}_${arch}"
  [ "$os" = windows ] && name="$name.exe"
  want="$(awk -v n="$name" '$1 == "sha256" && $2 == n { print $3 }' "$manifest")"
  [ -n "$want" ] || die "release $version has no binary for $os/$arch (runner $(uname -s)/$(uname -m) is not supported)"
  dir="$(cache_root)/$version/$want"
  bin="$dir/$name"
  if [ -f "$bin" ] && [ "$(sha256 "$bin" | cut -d' ' -f1)" = "$want" ]; then
    echo "$bin"
    return
  fi
  url="${GITHUB_SERVER_URL:-https://github.com}/$repo/releases/download/$version/$name"
  mkdir -p "$dir"
  tmp="$(mktemp "$dir/.download.XXXXXX")"
  log "downloading $url"
  if command -v curl >/dev/null 2>&1; then
    curl --fail --silent --show-error --location --retry 3 --retry-delay 2 --output "$tmp" "$url" ||
      { rm -f "$tmp"; die "could not download $url"; }
  elif command -v wget >/dev/null 2>&1; then
    wget --quiet --tries=3 --output-document="$tmp" "$url" ||
      { rm -f "$tmp"; die "could not download $url"; }
  else
    rm -f "$tmp"
    die "neither curl nor wget is installed: cannot download the actions binary"
  fi
  got="$(sha256 "$tmp" | cut -d' ' -f1)"
  if [ "$got" != "$want" ]; then
    rm -f "$tmp"
    die "checksum mismatch for $name of $version: the release asset has sha256 $got, the action's manifest expects $want; refusing to run it"
  fi
  chmod +x "$tmp"
  mv -f "$tmp" "$bin"
  echo "$bin"
}

# from_source prints the path of a binary built from this checkout.
from_source() {
  local hash dir bin tmp exe=""
  command -v go >/dev/null 2>&1 ||
    die "this ref of cicd-excellence/actions has no release binaries (no internal/launcher/manifest.txt) and no Go toolchain is installed to build it: pin a release tag (such as @v1) or add actions/setup-go before this step"
  [ "$(platform | cut -d' ' -f1)" = windows ] && exe=".exe"
  # Hash what the build reads, so any change of source means a new binary.
  hash="$(cd "$root" && find . -name '*.go' -not -name '*_test.go' -not -path '*/testdata/*' -o -name go.mod -o -name go.sum -o -name action.yml |
    LC_ALL=C sort | while IFS= read -r f; do sha256 "$f"; done | sha256 | cut -c1-32)"
  dir="$(cache_root)/src-$hash"
  bin="$dir/actions$exe"
  if [ ! -x "$bin" ]; then
    mkdir -p "$dir"
    tmp="$dir/.build.$$$exe"
    log "building the actions binary from source (go $(go env GOVERSION))"
    (cd "$root" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$tmp" ./actions) ||
      { rm -f "$tmp"; die "go build of the actions binary failed"; }
    mv -f "$tmp" "$bin"
  fi
  echo "$bin"
}

if [ -n "${ACTIONS_BINARY:-}" ]; then
  bin="$ACTIONS_BINARY"
elif [ -f "$manifest" ]; then
  bin="$(from_release)"
else
  bin="$(from_source)"
fi
exec "$bin" "$step" "$@"
