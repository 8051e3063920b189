#!/bin/bash
# TAP: checkpatch.pl --strict on every kernel source file of the project
# (the module and the test-only modules of tests/vm and tests/e2e).  checkpatch.pl comes from the
# kernel source (Debian: linux-source-6.1, see tests/deps/kmod.txt, whose
# tarball is unpacked once, just the script and its data, into the build
# tree).
: "${top_srcdir:?}" "${top_builddir:?}"
cache=$top_builddir/kmod/checkpatch
cp=
for c in "${CHECKPATCH:-}" "$(command -v checkpatch.pl)" "$cache"/*/scripts/checkpatch.pl; do
	[ -n "$c" ] && [ -x "$c" ] && { cp=$c; break; }
done
tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | tail -n 1)
if [ -z "$cp" ] && [ -n "$tarball" ]; then
	mkdir -p "$cache"
	tar -xJf "$tarball" -C "$cache" --wildcards '*/scripts/checkpatch.pl' \
		'*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch' &&
		cp=$(ls "$cache"/*/scripts/checkpatch.pl | head -n 1)
fi
files=("$top_srcdir"/kmod/*.[ch] "$top_srcdir"/tests/vm/modules/*.c "$top_srcdir"/tests/e2e/guest/*.c)
if [ -z "$cp" ] || [ ! -x "$cp" ]; then
	# With VM tests (tests/all.sh, CI) every prerequisite is installed:
	# a missing one is a failure.
	if [ "${VM_TESTS:-no}" = yes ]; then
		echo "1..1"
		echo "not ok 1 - checkpatch.pl not found (install linux-source-6.1, tests/deps/kmod.txt)"
		exit 1
	fi
	echo "1..0 # SKIP checkpatch.pl not found (install linux-source-6.1)"
	exit 0
fi
echo "1..${#files[@]}"
n=0 fail=0
for f in "${files[@]}"; do
	n=$((n + 1))
	out=$("$cp" --strict --no-tree --quiet --show-types -f "$f" 2>&1)
	if [ -z "$out" ]; then
		echo "ok $n - ${f#"$top_srcdir"/}"
	else
		echo "not ok $n - ${f#"$top_srcdir"/}"
		printf '%s\n' "$out" | sed 's/^/# /'
		fail=1
	fi
done
exit $fail
