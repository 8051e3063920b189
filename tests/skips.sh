#!/bin/bash
# List every skipped test in the output of make check runs and fail on any
# that the allow list does not name.
#
#   skips.sh ALLOW-LIST LOG...
#
# LOG is what make printed (automake's test harness writes one
# "SKIP: <test> <details>" line for each skip, whether the test said
# "ok N ... # SKIP <reason>" or "1..0 # SKIP <reason>").  ALLOW-LIST is
# tests/skips.allow; its header describes the format.  Prints every
# distinct skip with its reason and whether it is allowed.  Exit status:
# 0 when every skip is allowed, 1 when one is not, 2 on bad input.
set -euo pipefail

if (($# < 2)); then
	echo "usage: $0 ALLOW-LIST LOG..." >&2
	exit 2
fi
allow=$1
shift
for f in "$allow" "$@"; do
	[ -r "$f" ] || { echo "skips: cannot read $f" >&2; exit 2; }
done

awk -v allow="$allow" '
BEGIN {
	sep = " \\| "
	while ((r = getline line < allow) > 0) {
		lineno++
		if (line ~ /^[ \t]*(#|$)/)
			continue
		if (split(line, f, sep) != 3 || f[1] == "" || f[2] == "" || f[3] == "") {
			printf "skips: %s:%d: expected TEST | REGEX | REASON: %s\n", allow, lineno, line > "/dev/stderr"
			bad = 1
			exit 2
		}
		n++
		a_test[n] = f[1]; a_rx[n] = f[2]; a_why[n] = f[3]
	}
	if (r < 0) {
		printf "skips: cannot read %s\n", allow > "/dev/stderr"
		bad = 1
		exit 2
	}
}
/^SKIP: / {
	line = substr($0, 7)
	if (seen[line]++)
		next
	test = line; sub(/ .*/, "", test)
	details = substr(line, length(test) + 2)
	# "N desc # SKIP reason" for a test, "- reason" for a skipped plan
	reason = details
	if (!sub(/.*# SKIP[ \t]*/, "", reason))
		sub(/^- /, "", reason)
	why = ""
	for (i = 1; i <= n; i++)
		if (test == a_test[i] && details ~ a_rx[i]) {
			why = a_why[i]
			break
		}
	total++
	if (why != "") {
		ok++
		out = out sprintf("  allowed      %s\n               test says: %s\n               allowed because: %s\n", line, reason, why)
	} else {
		out = out sprintf("  NOT ALLOWED  %s\n               test says: %s\n", line, reason)
	}
}
END {
	if (bad)
		exit 2
	printf "skips: %d seen, %d allowed (%s)\n", total, ok, allow
	printf "%s", out
	if (total > ok) {
		printf "skips: %d not on the allow list: a missing prerequisite is a failure\n", total - ok
		exit 1
	}
}
' "$@"
