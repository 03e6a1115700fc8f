#!/usr/bin/env bash
# deploy.sh ENVIRONMENT: the example's deploy of every service of one
# environment. A real one runs terraform, helm or kubectl here. The versions
# arrive in the environment from the deploy action, never interpolated into
# the workflow: VERSION_<KEY> per tracked key (VERSION_API_TAG,
# VERSION_SHOP_CART_TAG, and with digests VERSION_API_DIGEST); VERSIONS_JSON
# holds them all.
set -euo pipefail
env="${1:?environment}"
for var in $(compgen -e | grep '^VERSION_' | sort); do
  echo "deploying $env: $var=${!var}"
  if [ -n "${DEPLOY_DIR:-}" ]; then
    mkdir -p "$DEPLOY_DIR/$env"
    echo "${!var}" > "$DEPLOY_DIR/$env/$var"
  fi
done
