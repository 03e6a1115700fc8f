#!/usr/bin/env bash
# build.sh COMPONENT DIR: builds one component's artifact into DIR (a
# directory of files, pushed as an OCI artifact; a docker save tarball or an
# OCI layout works the same way).
set -euo pipefail
component="${1:?usage: build.sh COMPONENT DIR}"
out="${2:?usage: build.sh COMPONENT DIR}"
mkdir -p "$out"
cp "$component"/* "$out/"
echo "built $component into $out"
