#!/usr/bin/env bash
# deploy.sh ENVIRONMENT VERSION: the example's deploy. A real one runs
# terraform, helm or kubectl here; the values arrive as arguments from the
# action's environment, never interpolated into the workflow.
set -euo pipefail
env="${1:?environment}"
version="${2:?version}"
echo "deploying api@$version to $env"
if [ -n "${DEPLOY_DIR:-}" ]; then
  mkdir -p "$DEPLOY_DIR"
  echo "$version" > "$DEPLOY_DIR/$env"
fi
