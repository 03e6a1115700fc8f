#!/usr/bin/env bash
# Builds the artifact into $1 (a directory of files, pushed as an OCI
# artifact; a docker save tarball or an OCI layout works the same way).
set -euo pipefail
out="${1:?usage: build.sh DIR}"
mkdir -p "$out"
cp app.txt "$out/"
echo "built $out"
