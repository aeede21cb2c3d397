#!/usr/bin/env bash
# Run every fuzz target of the module, one after the other, each for the given
# time (default 30s): ./scripts/fuzz.sh [FUZZTIME]. Not part of CI.
# A crash leaves its input in the package's testdata/fuzz/<Target>/; commit it
# with the fix as a regression case.
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-30s}"
go="${GO:-go}"

# "go test -list" prints each matching name, then "ok <pkg> ..." per package.
targets=()
pending=()
while read -r line; do
	case "$line" in
	Fuzz*) pending+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for name in "${pending[@]}"; do targets+=("$pkg $name"); done
		pending=()
		;;
	esac
done < <("$go" test -list '^Fuzz' ./... 2>/dev/null)

if [ "${#targets[@]}" -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 2
fi

echo "fuzz: ${#targets[@]} targets, ${fuzztime} each"
summary=()
failed=0
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "=== fuzz $name ($pkg) for $fuzztime"
	start=$(date +%s)
	out=$("$go" test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" 2>&1)
	rc=$?
	secs=$(( $(date +%s) - start ))
	echo "$out" | tail -n 4
	execs=$(grep -o 'execs: [0-9]*' <<<"$out" | tail -n 1 | awk '{print $2}')
	corpus=$(grep -o 'total: [0-9]*' <<<"$out" | tail -n 1 | awk '{print $2}')
	if [ $rc -eq 0 ]; then
		summary+=("PASS  $name  $pkg  execs=${execs:-?} corpus=${corpus:-?} ${secs}s")
	else
		failed=1
		summary+=("FAIL  $name  $pkg  (see the output above; the input is in testdata/fuzz/$name)")
		echo "$out"
	fi
done

echo
echo "fuzz summary:"
printf '  %s\n' "${summary[@]}"
exit $failed
