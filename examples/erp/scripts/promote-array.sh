#!/bin/sh
# Stand-in for the array vendor's CLI. Replace the echo lines with the real calls, e.g.
#   purepod promote / symrdf failover / naviseccli mirror -async -promoteimage.
#
# usage: promote-array.sh promote|clone FROM_SITE TO_SITE   (array name in $ARRAY)
set -eu

action=${1:?usage: promote-array.sh promote|clone FROM_SITE TO_SITE}
from=${2:?missing FROM_SITE}
to=${3:?missing TO_SITE}
array=${ARRAY:-unknown-array}

case "$action" in
promote)
	echo "array $array: promoting replica volumes $from -> $to (mirror reversed)"
	;;
clone)
	echo "array $array: presenting a snapshot clone of the $from volumes at $to (mirror untouched)"
	;;
*)
	echo "promote-array.sh: unknown action \"$action\" (want promote or clone)" >&2
	exit 2
	;;
esac
echo "array $array: done"
