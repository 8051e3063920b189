#!/bin/bash
# Install the Debian packages that building and testing dmadirty need.
#
#   deps.sh                 every component's packages
#   deps.sh COMPONENT...    only those (build, agent, ctl, kmod, e2e, ...)
#
# Each component lists its packages in tests/deps/<component>.txt, one per
# line ('#' starts a comment).  Only missing packages are installed, so a
# second run costs one dpkg-query.  Must run as root on Debian 12.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
lists=()
for c in "$@"; do
	[ -f "$here/deps/$c.txt" ] || { echo "deps: no such component: $c" >&2; exit 2; }
	lists+=("$here/deps/$c.txt")
done
((${#lists[@]})) || lists=("$here"/deps/*.txt)
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "${lists[@]}" | sort -u)

missing=()
for pkg in "${wanted[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
	echo "deps: all ${#wanted[@]} packages present"
	exit 0
fi
if ((EUID != 0)); then
	echo "deps: missing packages and not root: ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -q
apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
