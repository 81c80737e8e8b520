#!/bin/sh
# After removal. Purge (deb) removes septa's state and logs; an rpm erase
# keeps them, as rpm does. Configuration files follow each package
# manager's rules for conffiles.
#   deb: postrm remove | purge | upgrade ...      rpm: %postun 0 | 1
set -e
case "$1" in
	purge)
		rm -rf /var/lib/septa /var/log/septa /run/septa
		;;
esac
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
