#!/usr/bin/env bash
# fuzz.sh: run every Go fuzz target of the repository, one after the other,
# each for FUZZTIME (default 30s; a duration or Nx as go test -fuzztime takes).
#
#   internal/testkit/hardening/fuzz.sh             # from any directory
#   FUZZTIME=5m internal/testkit/hardening/fuzz.sh
#
# Targets are found, not listed: the packages with a `func Fuzz...(` in a
# _test.go file, then `go test -list '^Fuzz'` in each for the names Go itself
# sees. A crash stops the run: Go has written the input under the package's
# testdata/fuzz/<Target>/, and that file is to be committed with the fix as a
# regression seed (every plain `go test` runs it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../../.." && pwd))
cd "$root"

GO=${GO:-go}
fuzztime=${FUZZTIME:-30s}
log=$(mktemp "${TMPDIR:-/tmp}/fuzz.XXXXXX")
trap 'rm -f "$log"' EXIT

# Packages: directories of tracked or new (not ignored) test files that
# declare a fuzz target; testdata and vendored trees are not packages.
mapfile -t pkgs < <(
	git ls-files -co --exclude-standard -- '*_test.go' |
		grep -Ev '(^|/)(testdata|vendor|node_modules)/' |
		while IFS= read -r f; do
			if grep -Eq '^func Fuzz[A-Za-z0-9_]*\(' "$f"; then dirname "$f"; fi
		done | sort -u
)
if [ ${#pkgs[@]} -eq 0 ]; then
	echo "fuzz: no fuzz targets found under $root" >&2
	exit 1
fi

targets=()
for pkg in "${pkgs[@]}"; do
	if ! "$GO" test -list '^Fuzz' "./$pkg" >"$log" 2>&1; then
		cat "$log" >&2
		echo "fuzz: $pkg: go test -list failed (does the package build?)" >&2
		exit 1
	fi
	while IFS= read -r name; do
		targets+=("$pkg $name")
	done < <(grep -E '^Fuzz[A-Za-z0-9_]*$' "$log" || true)
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: go test -list found no fuzz targets in: ${pkgs[*]}" >&2
	exit 1
fi

for t in "${targets[@]}"; do
	pkg=${t% *} name=${t##* }
	if "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "./$pkg" >"$log" 2>&1; then
		execs=$(grep -Eo 'execs: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2 || true)
		echo "fuzz: $pkg $name $fuzztime ok${execs:+ ($execs execs)}"
		continue
	fi
	cat "$log" >&2
	echo "fuzz: $pkg $name FAILED" >&2
	# go test prints "Failing input written to testdata/fuzz/<Target>/<hash>",
	# relative to the package.
	crasher=$(sed -n 's/.*Failing input written to \(testdata\/fuzz\/[^ ]*\).*/\1/p' "$log" | tail -n 1)
	if [ -n "$crasher" ]; then
		echo "fuzz: Go saved the crashing input as $pkg/$crasher (under $pkg/testdata/fuzz/$name/)." >&2
		echo "fuzz: reproduce with: $GO test -run '^$name/${crasher##*/}\$' ./$pkg" >&2
		echo "fuzz: fix the bug and commit that file with the fix: it is a regression seed every go test runs." >&2
	else
		echo "fuzz: no new crasher was written: a seed in the corpus (f.Add or $pkg/testdata/fuzz/$name/) fails, or the package does not build; see the output above." >&2
	fi
	exit 1
done
echo "fuzz: ${#targets[@]} targets, $fuzztime each, no crash"
