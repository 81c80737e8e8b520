#!/usr/bin/env bash
# Installs what `make bench` needs and is missing: iperf3, nftables,
# iproute2, and Suricata 7 from Debian bookworm-backports (bookworm itself
# has 6). Idempotent: installs nothing that is already there. Root only.
set -euo pipefail

missing=()
command -v iperf3 >/dev/null || missing+=(iperf3)
command -v nft >/dev/null || missing+=(nftables)
command -v ip >/dev/null || missing+=(iproute2)
need_suricata=
if ! command -v suricata >/dev/null || ! suricata -V 2>/dev/null | grep -q 'version 7\.'; then
	need_suricata=1
fi
if [ ${#missing[@]} -eq 0 ] && [ -z "$need_suricata" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "bench: missing ${missing[*]} ${need_suricata:+suricata (7)}; run $0 as root to install them" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null; then
	echo "bench: install ${missing[*]} ${need_suricata:+Suricata 7} with your package manager" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ -n "$need_suricata" ]; then
	if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		echo 'deb http://deb.debian.org/debian bookworm-backports main' >/etc/apt/sources.list.d/bookworm-backports.list
	fi
	apt-get update -qq
	apt-get install -y -qq -t bookworm-backports suricata >/dev/null
	# The package starts a system-wide Suricata; the benchmark runs its own.
	systemctl disable --now suricata >/dev/null 2>&1 || true
fi
