#!/bin/sh
# Install the real proxy servers the interop tests start on loopback
# (see internal/testenv/realproxy). Idempotent: does nothing when every binary is
# already present. Needs root (or sudo) for apt-get.
set -eu

PKGS="microsocks dante-server tinyproxy squid apache2-utils openssh-server openssh-client"

missing=""
for bin in microsocks danted tinyproxy squid htpasswd sshd ssh ssh-keygen; do
	if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ] && [ ! -x "/usr/bin/$bin" ]; then
		missing="$missing $bin"
	fi
done
if [ ! -x /usr/lib/squid/basic_ncsa_auth ]; then
	missing="$missing basic_ncsa_auth"
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

if [ -n "$missing" ]; then
	echo "install-peers: missing:$missing; installing $PKGS"
	export DEBIAN_FRONTEND=noninteractive
	[ -n "${APT_UPDATED:-}" ] || $SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
	# The packages start system services; the tests run their own instances
	# on free loopback ports, so stop the packaged ones where possible.
	for svc in danted tinyproxy squid ssh; do
		$SUDO service "$svc" stop >/dev/null 2>&1 || true
	done
else
	echo "install-peers: all peer binaries present"
fi

# sshd's privilege separation directory.
$SUDO mkdir -p /run/sshd
$SUDO chmod 0755 /run/sshd
