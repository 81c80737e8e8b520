#!/bin/sh
# After install or upgrade. A first install does not start septad: the
# operator reviews /etc/septa and starts it. An upgrade restarts it if it
# was running (flows keep their verdicts in the kernel meanwhile).
#   deb: postinst configure [old-version]      rpm: %post 1 (install) | 2 (upgrade)
set -e
upgrade=no
case "$1" in
	configure) [ -n "$2" ] && upgrade=yes ;;
	2) upgrade=yes ;;
esac
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	if [ "$upgrade" = yes ]; then
		systemctl try-restart septad.service >/dev/null 2>&1 || true
	fi
fi
exit 0
