#!/bin/bash
# TAP: tests/skips.sh, which makes tests/all.sh fail on a skip that
# tests/skips.allow does not name, against made-up make check output.
# Plain shell, no VM.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
skips=$top_srcdir/tests/skips.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/dmadirty-skips.XXXXXX")
trap 'rm -rf "$work"' EXIT
# A made-up allow list in the format of tests/skips.allow (which is empty:
# no suite skips anything today).
allow=$work/skips.allow
printf '%s\n' '# fixture' \
	'tests/vm/kmod.sh | ^[0-9]+ - 6\.1\.[0-9]+ [a-z]+: skip-sync: .* # SKIP kernel has no dma_skip_sync$ | Linux 6.1 predates dma_skip_sync' \
	>"$allow"
n=0 fail=0

# run WANT-STATUS WANT-TEXT DESCRIPTION [ALLOW]: skips.sh over $work/make.out
run() {
	local want=$1 text=$2 what=$3 list=${4:-$allow} got=0 out
	out=$(bash "$skips" "$list" "$work/make.out" 2>&1) || got=$?
	n=$((n + 1))
	if [ "$got" = "$want" ] && [[ $out == *"$text"* ]]; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what (exit $got, wanted $want and \"$text\")"
		printf '%s\n' "$out" | sed 's/^/# /'
		fail=1
	fi
}

skip_sync='tests/vm/kmod.sh 12 - 6.1.0 default: skip-sync: sync calls seen only with dma_skip_sync cleared # SKIP kernel has no dma_skip_sync'

printf 'PASS: tests/unit/test-framer 1 - /framer/basic\n' >"$work/make.out"
run 0 "skips: 0 seen" "no skip: passes"
run 0 "skips: 0 seen" "the tree's allow list is well-formed" "$top_srcdir/tests/skips.allow"

printf 'PASS: tests/vm/kmod.sh 11 - x\nSKIP: %s\n' "$skip_sync" >"$work/make.out"
run 0 "allowed because: Linux 6.1" "skip-sync on 6.1: allowed, with the list's reason"

printf 'SKIP: %s\n' "${skip_sync/6.1.0/6.12.0}" >"$work/make.out"
run 1 "NOT ALLOWED  tests/vm/kmod.sh 12 - 6.12.0" "skip-sync on 6.12: refused"

printf 'SKIP: %s\nSKIP: tests/e2e/e2e.sh 5 - # SKIP bridge variant: E2E_BRIDGE=no\n' \
	"$skip_sync" >"$work/make.out"
run 1 "test says: bridge variant: E2E_BRIDGE=no" "an unlisted skip fails the run, with the test's reason"

printf 'SKIP: kmod/checkpatch.sh - checkpatch.pl not found (install linux-source-6.1)\n' >"$work/make.out"
run 1 "test says: checkpatch.pl not found (install linux-source-6.1)" "a skipped plan (1..0 with a reason) is a skip too"

printf 'SKIP: %s\nSKIP: %s\n' "$skip_sync" "$skip_sync" >"$work/make.out"
run 0 "skips: 1 seen, 1 allowed" "the same skip in two steps is listed once"

printf 'tests/vm/kmod.sh | skip-sync\n' >"$work/bad.allow"
run 2 "expected TEST | REGEX | REASON" "an entry without a reason is an error" "$work/bad.allow"

run 2 "cannot read" "a missing allow list is an error" "$work/none.allow"

n=$((n + 1))
if grep -q 'tests/skips.sh tests/skips.allow' "$top_srcdir/tests/all.sh"; then
	echo "ok $n - tests/all.sh checks its skips against tests/skips.allow"
else
	echo "not ok $n - tests/all.sh checks its skips against tests/skips.allow"
	fail=1
fi

echo "1..$n"
exit $fail
