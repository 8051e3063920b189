#!/bin/bash
# TAP: every shell script of the tree parses (bash -n).  Scripts that only
# run by hand or on a benchmark (make bench-kmod, the demo) are not run by
# make check, so a quoting slip in them would otherwise go unseen until
# someone needs them.  Plain shell, no VM.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top_srcdir" || exit 1

# The tree's shell scripts: *.sh, and files without the suffix whose first
# line names sh or bash.  Build and VCS directories, what autoreconf and
# configure generate, and backups (*~) are not the tree.
scripts() {
	find . \( -name .git -o -name '_build*' -o -name autom4te.cache \
		-o -name build-aux -o -name '*.work' \) -prune -o \
		-type f ! -name configure ! -name config.status ! -name libtool \
		! -name '*~' -print | sort |
	while read -r f; do
		case $f in
		*.sh) echo "${f#./}" ;;
		*.py | *.c | *.h | *.md | *.patch | *.json | *.txt) ;;
		*) head -n1 "$f" 2>/dev/null | grep -Eq '^#!.*[/ ](ba)?sh( |$)' &&
			echo "${f#./}" ;;
		esac
	done
}

n=0 fail=0
while read -r f; do
	n=$((n + 1))
	if out=$(bash -n "$f" 2>&1); then
		echo "ok $n - $f parses"
	else
		echo "not ok $n - $f parses"
		printf '%s\n' "$out" | sed 's/^/# /'
		fail=1
	fi
done < <(scripts)
if [ $n = 0 ]; then
	echo "not ok 1 - no shell script found under $top_srcdir"
	n=1 fail=1
fi
echo "1..$n"
exit $fail
