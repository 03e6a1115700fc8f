#!/usr/bin/env bash
# The app's tests (a stand-in: the pipeline is what this example shows).
set -euo pipefail
grep -q 'hello' app.txt
echo "tests passed"
