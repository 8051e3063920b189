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
# package from it unless a list names the package with the suite.  Only
# missing packages are installed, so a second run costs one dpkg-query per
# package.  Must run as root on Debian 12.
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
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -q
apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
