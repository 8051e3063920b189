#!/bin/bash
# TAP: the README's Quick start names the two commands a newcomer runs, and
# they are the real ones: the first is the demo's entry point, the second
# is what CI runs (.ci/run).  Plain shell, no VM.
#
#   readme.sh [README [CI-SCRIPT]]    default: $top_srcdir/README.md, .ci/run
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
readme=${1:-$top_srcdir/README.md}
ci=${2:-$top_srcdir/.ci/run}
n=0 fail=0

check() {	# check DESCRIPTION COMMAND...: one TAP line, COMMAND's status
	local what=$1; shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what"
		fail=1
		return 1
	fi
}
note() { echo "# $*"; }

# The first fenced block after "## Quick start": its non-empty lines, each
# "COMMAND   # what it prints; how long it takes".
mapfile -t lines < <(awk '
	/^## / { in_qs = ($0 == "## Quick start"); next }
	in_qs && /^```/ { if (fence) exit; fence = 1; next }
	in_qs && fence && NF { print }
' "$readme")
cmds=()
for l in "${lines[@]}"; do
	c=${l%%#*}
	c=${c%"${c##*[![:space:]]}"}
	cmds+=("$c")
done

has_two() {
	((${#cmds[@]} == 2)) && return
	note "expected exactly two commands in the Quick start block of $readme, found ${#cmds[@]}:"
	local l
	for l in "${lines[@]}"; do note "  $l"; done
	return 1
}
described() {	# described LINE: says what it prints and, roughly, how long
	[[ $1 == *"#"*[a-z]*"about "[0-9]*" minute"* ]] && return
	note "no \"# what it prints; about N minutes\" after: $1"
	return 1
}
script_of() {	# script_of COMMAND: "bash PATH" -> PATH
	[[ $1 =~ ^bash\ ([^[:space:]]+)$ ]] || { note "not \"bash SCRIPT\": $1"; return 1; }
	script=${BASH_REMATCH[1]}
	[ -f "$top_srcdir/$script" ] || { note "$script is not in the tree"; return 1; }
}
is_demo() {	# the script builds and runs the make target demo
	script_of "$1" || return 1
	grep -Eq '^[^#]*\bmake\b.*[[:space:]]demo([[:space:]]|$)' "$top_srcdir/$script" ||
		{ note "$script does not run make demo"; return 1; }
	grep -Eq '^demo:' "$top_srcdir/Makefile.am" ||
		{ note "Makefile.am has no demo target"; return 1; }
}
ci_runs() {	# .ci/run goes to the top of the tree and runs COMMAND there
	script_of "$1" || return 1
	# shellcheck disable=SC2016 # the literal line, not its expansion
	grep -Fq 'cd "$(dirname "$0")/.."' "$ci" ||
		{ note "$ci does not cd to the top of the tree"; return 1; }
	local l
	while read -r l || [ -n "$l" ]; do
		[ "${l#exec }" = "$1" ] && return
	done <"$ci"
	note "$ci does not run \"$1\":"
	sed 's/^/#   /' "$ci"
	return 1
}

if check "README.md has a Quick start with exactly two commands" has_two; then
	check "the first, \"${cmds[0]}\", says what it prints and how long" described "${lines[0]}"
	check "the second, \"${cmds[1]}\", says what it prints and how long" described "${lines[1]}"
	check "the first, \"${cmds[0]}\", is the demo's entry point" is_demo "${cmds[0]}"
	check "the second, \"${cmds[1]}\", is what .ci/run runs" ci_runs "${cmds[1]}"
fi
echo "1..$n"
exit $fail
