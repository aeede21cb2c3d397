#!/bin/sh
# Install the Prometheus server and promtool that observe/proxyprom's tests
# run (a real server scraping a test's /metrics, and promtool check
# metrics). Debian package prometheus. Idempotent: does nothing when both
# binaries are present. Needs root (or sudo) for apt-get.
set -eu

missing=""
for bin in prometheus promtool; do
	if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/bin/$bin" ]; then
		missing="$missing $bin"
	fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

if [ -n "$missing" ]; then
	echo "install-obs: missing:$missing; installing prometheus"
	export DEBIAN_FRONTEND=noninteractive
	[ -n "${APT_UPDATED:-}" ] || $SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
	# The package may start a system service on :9090; the tests run their
	# own server on a free loopback port, so stop the packaged one.
	$SUDO service prometheus stop >/dev/null 2>&1 || true
else
	echo "install-obs: prometheus and promtool present"
fi
prometheus --version 2>&1 | head -n 1
promtool --version 2>&1 | head -n 1
