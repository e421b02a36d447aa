#!/usr/bin/env bash
# Builds the PV/UV dashboard's third-party assets: Apache ECharts, from the
# npm registry, at the exact version that app/pvuv/dashboard/ui/package.json
# and its package-lock.json pin.
#
#   scripts/build-dashboard.sh
#
# It runs `npm ci` in app/pvuv/dashboard/ui (a clean install from the lock
# file, every package checked against its integrity hash, no install
# scripts run) and copies the built library and its licenses into
# app/pvuv/dashboard/assets/vendor, which the dashboard embeds with
# go:embed. The output is checked in, so `go build` needs no npm; run this
# script only to change the ECharts version:
#
#   1. set the new version in ui/package.json ("echarts": "X.Y.Z", exact);
#   2. cd app/pvuv/dashboard/ui && npm install --ignore-scripts (updates the lock);
#   3. scripts/build-dashboard.sh, then commit ui/package*.json and assets/vendor.
#
# The build is repeatable: the same lock file gives byte-identical files
# (the script prints their SHA-256 sums to compare). node_modules stays in
# ui/ and is ignored by git.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
ui="$root/app/pvuv/dashboard/ui"
vendor="$root/app/pvuv/dashboard/assets/vendor"

if ! command -v npm >/dev/null 2>&1; then
	echo "build-dashboard: npm is not installed; install Node.js and npm (Debian: apt-get install npm) and retry" >&2
	exit 1
fi

(cd "$ui" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

modules="$ui/node_modules"
rm -rf "$vendor"
mkdir -p "$vendor"
# install -m 0644 gives the same mode whatever the umask.
install -m 0644 "$modules/echarts/dist/echarts.min.js" "$vendor/echarts.min.js"
install -m 0644 "$modules/echarts/LICENSE" "$vendor/LICENSE-echarts"
install -m 0644 "$modules/echarts/NOTICE" "$vendor/NOTICE-echarts"
install -m 0644 "$modules/echarts/licenses/LICENSE-d3" "$vendor/LICENSE-d3"
# echarts.min.js bundles zrender and tslib: their licenses travel with it.
install -m 0644 "$modules/zrender/LICENSE" "$vendor/LICENSE-zrender"
install -m 0644 "$modules/tslib/LICENSE.txt" "$vendor/LICENSE-tslib"

version="$(node -p 'require(process.argv[1]).version' "$modules/echarts/package.json")"
echo "build-dashboard: ECharts $version in ${vendor#"$root"/}:"
(cd "$vendor" && sha256sum -- *)
