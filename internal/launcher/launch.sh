#!/usr/bin/env bash
# launch.sh STEP [ARGS...] — the one entry point of every action.yml: find the
# `actions` binary for this checkout of the action and run `actions STEP`.
#
#   1. $ACTIONS_BINARY, when set (tests, or a binary you built yourself): run
#      as is, with a ::notice:: naming it so it is never silent;
#   2. a release: manifest.txt beside this script names the version and the
#      sha256 of each platform's binary; the binary is taken from the tool
#      cache or downloaded from the release, verified, then cached;
#   3. otherwise (a branch or a SHA between releases) build from the action's
#      own source with the Go toolchain, cached by a hash of every file of
#      the source tree, with the built binary's sha256 recorded beside it.
#
# Whatever the source, a cached or downloaded binary is first copied into a
# private directory (mode 0700) of this run; that copy is hashed, and that
# same copy is run. A file swapped in the shared cache after the check is
# never the one that runs.
#
# Tested on Linux (launcher_test.go: tampered caches, stale embedded files,
# a parent go.work, GOFLAGS, 300 launches racing a cache swap). On macOS and
# Windows only the source build is run, once, by ci.yml's launcher job: the
# cache checks, the swap race, shasum and Git Bash's mktemp/chmod (a no-op
# there, so the private directory is only as private as the user's TEMP)
# are untested.
#
# The action's location comes from where this script is (github.action_path),
# never from github.action_ref, which is empty inside composite actions
# (actions/runner#2473).
set -euo pipefail

step="${1:?usage: launch.sh STEP [ARGS...]}"
shift

here="${BASH_SOURCE[0]%/*}"
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
here="$(cd "$here" && pwd)"
root="${here%/internal/launcher}"
[ "$root" != "$here" ] || root="$(cd "$here/../.." && pwd)"
manifest="$here/manifest.txt"

die() { echo "::error::cicd-excellence/actions: $*" >&2; exit 1; }
log() { echo "cicd-excellence/actions: $*" >&2; }

if command -v sha256sum >/dev/null 2>&1; then hasher=(sha256sum)
elif command -v shasum >/dev/null 2>&1; then hasher=(shasum -a 256)
else die "neither sha256sum nor shasum is installed: cannot verify the actions binary"
fi
sha256() { "${hasher[@]}" "$@"; }
# sha256_of FILE prints the file's sha256.
sha256_of() {
  local line
  line="$("${hasher[@]}" "$1")" || return 0
  echo "${line%% *}"
}

cache_root() {
  local base="${RUNNER_TOOL_CACHE:-}"
  [ -n "$base" ] || base="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}"
  echo "$base/cicd-excellence-actions"
}

# os and arch of this runner, as release assets name them (no subshell: every
# fork counts when a workflow runs many steps).
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
exe=""
[ "$os" = windows ] && exe=".exe"

# The private directory of this run: mktemp -d makes it 0700, and it is
# removed when the step ends (the binary runs as a child, not through exec,
# so that this cleanup runs).
private="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/cicd-excellence-actions.XXXXXX")" ||
  die "could not create a private temporary directory"
trap 'rm -rf "$private"' EXIT
run="$private/actions$exe"

# take SRC copies SRC to the private copy and prints the copy's sha256 (empty
# when SRC cannot be read).
take() {
  rm -f "$run"
  cp "$1" "$run" 2>/dev/null || return 0
  chmod 700 "$run"
  sha256_of "$run"
}

# store puts the private copy into the cache at DEST for later runs (a new
# file renamed into place: a reader never sees half of it).
store() {
  local dest="$1" tmp
  mkdir -p "${dest%/*}" || return 0
  tmp="$(mktemp "${dest%/*}/.store.XXXXXX")" || return 0
  if cp "$run" "$tmp" && chmod 755 "$tmp" && mv -f "$tmp" "$dest"; then return 0; fi
  rm -f "$tmp"
  log "could not cache the binary at $dest (it still runs)"
}

# from_release leaves a verified release binary in $run.
from_release() {
  local version="" repo="" name="actions_${os}_${arch}$exe" want="" cached url got k a b
  while read -r k a b; do
    case "$k" in
      version) [ -n "$version" ] || version="$a" ;;
      repository) [ -n "$repo" ] || repo="$a" ;;
      sha256) [ "$a" != "$name" ] || want="$b" ;;
    esac
  done <"$manifest"
  [ -n "$version" ] && [ -n "$repo" ] || die "$manifest has no version or repository line"
  [ -n "$want" ] || die "release $version has no binary for $os/$arch (runner $(uname -s)/$(uname -m) is not supported)"
  cached="$(cache_root)/$version/$want/$name"
  if [ -f "$cached" ]; then
    if [ "$(take "$cached")" = "$want" ]; then
      return
    fi
    log "the cached $name of $version does not match the manifest's sha256; downloading it again"
  fi
  url="${GITHUB_SERVER_URL:-https://github.com}/$repo/releases/download/$version/$name"
  rm -f "$run"
  log "downloading $url"
  if command -v curl >/dev/null 2>&1; then
    curl --fail --silent --show-error --location --retry 3 --retry-delay 2 --output "$run" "$url" ||
      die "could not download $url"
  elif command -v wget >/dev/null 2>&1; then
    wget --quiet --tries=3 --output-document="$run" "$url" ||
      die "could not download $url"
  else
    die "neither curl nor wget is installed: cannot download the actions binary"
  fi
  got="$(sha256_of "$run")"
  if [ "$got" != "$want" ]; then
    rm -f "$run"
    die "checksum mismatch for $name of $version: the release asset has sha256 $got, the action's manifest expects $want; refusing to run it"
  fi
  chmod 700 "$run"
  store "$cached"
}

# go_env runs go with nothing from the caller that changes what is built: no
# parent go.work, no GOFLAGS (such as -tags or -mod=mod), no cross-compiling
# GOOS/GOARCH, no cgo.
go_env() {
  GOWORK=off GOFLAGS=-mod=readonly GOOS= GOARCH= CGO_ENABLED=0 go "$@"
}

# source_hash hashes every file of the action's tree but test files, .git and
# the developer's build outputs (every file a build could read, //go:embed
# patterns included, with its path), and the Go version.
source_hash() {
  local gover="$1"
  {
    # Pruned: what .gitignore lists (a checkout of the action has none of
    # it; in a developer's tree, tests write some of it while they run).
    (cd "$root" && find . \( -name .git -o -path ./bin -o -path ./dist -o -path ./node_modules -o -path ./.cache \) -prune \
      -o -type f ! -name '*_test.go' ! -name '*.test' ! -name '*.out' ! -name .hardening-summary -print0 |
      LC_ALL=C sort -z | xargs -0 "${hasher[@]}")
    echo "go $gover"
  } | sha256 | cut -d' ' -f1
}

# from_source leaves in $run a binary built from this checkout: the cached
# build when its copy matches the sha256 recorded when it was built, else a
# new build.
from_source() {
  local gover hash dir cached record want got
  command -v go >/dev/null 2>&1 ||
    die "this ref of cicd-excellence/actions has no release binaries (no internal/launcher/manifest.txt) and no Go toolchain is installed to build it: pin a release tag (such as @v1) or add actions/setup-go before this step"
  gover="$(cd "$root" && go_env env GOVERSION)" || die "go env GOVERSION failed"
  hash="$(source_hash "$gover")"
  dir="$(cache_root)/src-$hash"
  cached="$dir/actions$exe"
  record="$dir/actions$exe.sha256"
  if [ -f "$cached" ] && [ -f "$record" ]; then
    want="$(head -c 64 "$record")"
    got="$(take "$cached")"
    if [ -n "$want" ] && [ "$got" = "$want" ]; then
      return
    fi
    log "the cached build in $dir does not match its recorded sha256; building again"
  fi
  rm -f "$run"
  log "building the actions binary from source ($gover)"
  (cd "$root" && go_env build -trimpath -buildvcs=false -o "$run" ./actions) ||
    die "go build of the actions binary failed"
  chmod 700 "$run"
  store "$cached"
  # The record is written after the binary: a run between the two sees a
  # stale record, refuses the cached binary and builds again.
  sha256_of "$run" >"$private/record"
  store_record "$record"
}

store_record() {
  local tmp
  tmp="$(mktemp "${1%/*}/.record.XXXXXX")" || return 0
  if cp "$private/record" "$tmp" && chmod 444 "$tmp" && mv -f "$tmp" "$1"; then return 0; fi
  rm -f "$tmp"
}

if [ -n "${ACTIONS_BINARY:-}" ]; then
  # Set by the workflow (or its job's environment), never by an input:
  # inputs only reach this script as INPUT_* variables.
  shown="${ACTIONS_BINARY//[$'\r\n%']/_}"
  echo "::notice title=cicd-excellence/actions::running ACTIONS_BINARY=$shown instead of a verified release or source build" >&2
  run="$ACTIONS_BINARY"
elif [ -f "$manifest" ]; then
  from_release
else
  from_source
fi
"$run" "$step" "$@"
