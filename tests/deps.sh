#!/bin/bash
# Install the Debian packages that building and testing dmadirty need.
#
#   deps.sh                 every component's packages
#   deps.sh COMPONENT...    only those (build, agent, ctl, kmod, e2e, ...)
#
# Each component lists its packages in tests/deps/<component>.txt, one per
# line ('#' starts a comment).  A line PACKAGE/SUITE wants PACKAGE from
# SUITE, a suite of the host's own release such as bookworm-backports; it
# wins over a plain PACKAGE line in another list.  Such a suite is added to
# apt through a sources file of its own, pinned so that apt never picks a
# package from it unless a list names the package with the suite, or such a
# package depends on a version that only the suite has (QEMU from
# bookworm-backports needs that suite's SeaBIOS): apt does not look there
# for those by itself.  Only missing packages are installed, so a second
# run costs one dpkg-query per package.  Must run as root on Debian 12.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
lists=()
for c in "$@"; do
	[ -f "$here/deps/$c.txt" ] || { echo "deps: no such component: $c" >&2; exit 2; }
	lists+=("$here/deps/$c.txt")
done
((${#lists[@]})) || lists=("$here"/deps/*.txt)
mapfile -t entries < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "${lists[@]}" | sort -u)

# One entry per package; PACKAGE/SUITE replaces PACKAGE.
declare -A suite_of=()
for e in "${entries[@]}"; do
	pkg=${e%%/*}
	if [[ $e == */* ]]; then
		suite_of[$pkg]=${e#*/}
	elif [ -z "${suite_of[$pkg]+set}" ]; then
		suite_of[$pkg]=
	fi
done
mapfile -t wanted < <(printf '%s\n' "${!suite_of[@]}" | sort)

suites_file() { echo "/etc/apt/sources.list.d/dmadirty-$1.sources"; }
pin_file() { echo "/etc/apt/preferences.d/dmadirty-$1"; }

# suite_version PACKAGE SUITE: the version SUITE offers, empty when apt
# does not know SUITE (yet).
# awk reads all of madison's output: exiting at the first match could kill
# apt-cache with SIGPIPE, which pipefail would turn into a failure.
suite_version() {
	apt-cache madison "$1" 2>/dev/null |
		awk -F'|' -v s="$2" '!found && $3 ~ (" " s "/") { gsub(/ /, "", $2); print $2; found = 1 }'
}

# suite_needs PACKAGE SUITE: the packages that SUITE's PACKAGE depends on
# at a version the default candidate does not satisfy and SUITE's does.
# Two apt-cache calls for all of them: each one reads the whole cache.
suite_needs() {
	local -a deps=()
	local -A cand=() offer=()
	local dep name op ver p v
	mapfile -t deps < <(apt-cache show "$1/$2" 2>/dev/null |
		awk '!done && /^(Pre-)?Depends:/ {
			sub(/^[^:]*: */, ""); n = split($0, d, /, */)
			for (i = 1; i <= n; i++) {
				sub(/ *\|.*/, "", d[i])	# the first alternative
				sub(/:[a-z]+ /, " ", d[i])	# :any
				if (d[i] ~ /\(/) print d[i]
			}
		}
		/^$/ { done = 1 }' | tr -d '()')
	((${#deps[@]})) || return 0
	while read -r p v; do cand[$p]=$v; done < <(apt-cache policy "${deps[@]%% *}" 2>/dev/null |
		awk '/^[^ ]/ { p = $1; sub(/:$/, "", p) } $1 == "Candidate:" { print p, $2 }')
	while read -r p v; do offer[$p]=$v; done < <(apt-cache madison "${deps[@]%% *}" 2>/dev/null |
		awk -F'|' -v s="$2" '$3 ~ (" " s "/") { gsub(/ /, "", $1); gsub(/ /, "", $2); print $1, $2 }')
	for dep in "${deps[@]}"; do
		read -r name op ver <<<"$dep"
		v=${cand[$name]:-}
		[ -n "$v" ] && [ "$v" != "(none)" ] && dpkg --compare-versions "$v" "$op" "$ver" && continue
		v=${offer[$name]:-}
		[ -n "$v" ] && dpkg --compare-versions "$v" "$op" "$ver" && echo "$name"
	done
}

missing=()
new_suites=()
for pkg in "${wanted[@]}"; do
	suite=${suite_of[$pkg]}
	have=$(dpkg-query -W -f='${db:Status-Abbrev} ${Version}' "$pkg" 2>/dev/null || true)
	if [ -z "$suite" ]; then
		[[ $have == ii* ]] || missing+=("$pkg")
		continue
	fi
	[ -f "$(suites_file "$suite")" ] || new_suites+=("$suite")
	want=$(suite_version "$pkg" "$suite")
	if [[ $have == ii* ]] && [ -n "$want" ] &&
		dpkg --compare-versions "${have##* }" ge "$want"; then
		continue
	fi
	missing+=("$pkg/$suite")
done

if ((${#missing[@]} == 0)); then
	echo "deps: all ${#wanted[@]} packages present"
	exit 0
fi
if ((EUID != 0)); then
	echo "deps: missing packages and not root: ${missing[*]}" >&2
	exit 1
fi
mapfile -t new_suites < <(printf '%s\n' ${new_suites[@]+"${new_suites[@]}"} | sed '/^$/d' | sort -u)
for suite in ${new_suites[@]+"${new_suites[@]}"}; do
	echo "deps: adding $suite to apt, pinned to the packages the lists name"
	cat >"$(suites_file "$suite")" <<SRC
# Written by dmadirty's tests/deps.sh for the packages its lists name as
# PACKAGE/$suite.
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	cat >"$(pin_file "$suite")" <<PIN
# Written by dmadirty's tests/deps.sh: nothing comes from $suite unless
# asked for by name (PACKAGE/$suite), and what came from it is upgraded
# from it.
Package: *
Pin: release n=$suite
Pin-Priority: 100
PIN
done
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -q

# What the suite's packages need from the suite, and what those need.
declare -A named=()
queue=()
for e in "${missing[@]}"; do
	named[$e]=1
	[[ $e == */* ]] && queue+=("$e")
done
while ((${#queue[@]})); do
	e=${queue[0]}
	queue=("${queue[@]:1}")
	while read -r dep; do
		[ -n "${named[$dep/${e#*/}]+set}" ] && continue
		echo "deps: $e needs $dep/${e#*/}"
		named[$dep/${e#*/}]=1
		queue+=("$dep/${e#*/}")
		# It replaces a plain line for the package.
		for i in "${!missing[@]}"; do
			[ "${missing[i]}" = "$dep" ] && unset 'missing[i]'
		done
		missing+=("$dep/${e#*/}")
	done < <(suite_needs "${e%%/*}" "${e#*/}")
done

echo "deps: installing ${missing[*]}"
apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
