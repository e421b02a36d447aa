#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine. Today that
# is Go alone (the tests start every server they use in-process); the
# script fails with a clear message when something cannot be had.
set -euo pipefail

if ! command -v go >/dev/null 2>&1; then
	echo "test-deps: Go is not installed; install Go 1.26 or newer and retry" >&2
	exit 1
fi
need="1.26"
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)" != "$need" ]; then
	echo "test-deps: Go $have is older than $need; install a newer Go" >&2
	exit 1
fi
# Modules download on first build; nothing else to install.
