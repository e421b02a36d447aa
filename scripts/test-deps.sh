#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: Go (checked,
# not installed), redis-server (the Redis connector's tests start their own
# on a free loopback port) and chromium (the dashboard's browser test). It
# fails with a clear message when something cannot be had.
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

# staticcheck, pinned: make vet runs it.
staticcheck_version="v0.8.2"
staticcheck="$(go env GOPATH)/bin/staticcheck"
if ! "$staticcheck" -version 2>/dev/null | grep -q "(${staticcheck_version#v})"; then
	echo "test-deps: installing staticcheck $staticcheck_version"
	go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "test-deps: install ${missing[*]} (the tests need them) and retry" >&2
		exit 1
	fi
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	echo "test-deps: installing ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for cmd in redis-server chromium; do
	command -v "$cmd" >/dev/null 2>&1 || { echo "test-deps: $cmd is still missing after installing it" >&2; exit 1; }
done
