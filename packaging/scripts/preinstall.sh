#!/bin/sh
# Create the septa system group: its members may use septad's control
# socket. Runs for .deb (preinst) and .rpm (%pre).
set -e
if ! getent group septa >/dev/null 2>&1; then
	if command -v groupadd >/dev/null 2>&1; then
		groupadd --system septa
	else
		addgroup --system septa
	fi
fi
exit 0
