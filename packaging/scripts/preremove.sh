#!/bin/sh
# Before removal (not upgrade): stop septad and remove septa's own
# nftables table, so that no table is left behind that nothing manages.
# Other tables (Docker's, firewalld's, the operator's) are never touched.
#   deb: prerm remove | upgrade      rpm: %preun 0 (erase) | 1 (upgrade)
set -e
case "$1" in
	remove|0)
		if [ -d /run/systemd/system ]; then
			systemctl stop septad.service >/dev/null 2>&1 || true
		fi
		if [ -x /usr/bin/septa ]; then
			/usr/bin/septa flush >/dev/null 2>&1 || true
		fi
		;;
esac
exit 0
