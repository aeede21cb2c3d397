#!/bin/sh
# Install the YAML language server the editor test talks to over LSP stdio
# (internal/systest/editor): the npm package yaml-language-server at a pinned
# version (keep in step with lspVersion in internal/systest/editor/lsp_test.go).
# Installs Node.js and npm from Debian when missing. Idempotent: does
# nothing when the pinned version is already on PATH. Needs root (or sudo)
# for apt-get and a global npm install.
set -eu

VERSION="1.25.0"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

if command -v yaml-language-server >/dev/null 2>&1 &&
	[ "$(yaml-language-server --version 2>/dev/null)" = "$VERSION" ]; then
	echo "install-lsp: yaml-language-server $VERSION present"
	exit 0
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "install-lsp: installing nodejs and npm"
	export DEBIAN_FRONTEND=noninteractive
	[ -n "${APT_UPDATED:-}" ] || $SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

echo "install-lsp: npm install -g yaml-language-server@$VERSION (node $(node --version))"
$SUDO npm install -g --no-audit --no-fund "yaml-language-server@$VERSION"
echo "install-lsp: $(command -v yaml-language-server) $(yaml-language-server --version)"
