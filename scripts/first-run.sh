#!/usr/bin/env bash
# A new user's first run of weir, measured: a fresh clone of REV (default
# HEAD), with empty module and build caches, runs `go run ./cmd/weir demo`
# until its dashboard answers; then the sizes of the caches and of the
# binary, and of `go mod download` (the whole module graph) for comparison.
# It needs the network to the Go module proxy; docs/benchmarks.md ("First
# run") has its figures.
#
#   scripts/first-run.sh [REV]
set -u
REV=${1:-HEAD}
repo=$(git rev-parse --show-toplevel)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
git clone -q "$repo" "$W/src" && cd "$W/src" && git checkout -q "$REV" || exit 1
export GOFLAGS="-buildvcs=false -modcacherw" GOMODCACHE=$W/mod GOCACHE=$W/cache
say() { echo "[$(git rev-parse --short HEAD)] $*"; }
say "$(uptime)"

PORT=$((20000 + RANDOM % 20000))
s=$(date +%s.%N)
/usr/bin/time -f "%e %U %S" -o "$W/time.txt" go run ./cmd/weir demo --http 127.0.0.1:$PORT >"$W/demo.out" 2>&1 &
pid=$!
ok=0
while kill -0 $pid 2>/dev/null; do
	if curl -fsS -o /dev/null http://127.0.0.1:$PORT/ 2>/dev/null; then ok=1; break; fi
	sleep 0.25
done
e=$(date +%s.%N)
if [ $ok = 1 ]; then
	say "$(printf 'go run ./cmd/weir demo from empty caches to a live dashboard: %.0f s' "$(echo "$e - $s" | bc)")"
else
	say "the dashboard never answered:"; tail -5 "$W/demo.out"
fi
# Stop the demo: weir is the child of go run, the child of time.
for c in $(pgrep -P $pid); do for g in $(pgrep -P "$c"); do kill -INT "$g"; done; done
wait $pid
say "  go run, wall/user/sys seconds (the build, and the demo until stopped): $(cat "$W/time.txt")"
say "module cache: $(du -sh "$GOMODCACHE" | cut -f1)  build cache: $(du -sh "$GOCACHE" | cut -f1)"
go build -o "$W/weir" ./cmd/weir && go build -trimpath -ldflags='-s -w' -o "$W/weir-release" ./cmd/weir
say "binary: $(stat -c %s "$W/weir") bytes; release build (make build): $(stat -c %s "$W/weir-release") bytes"
say "modules linked: $(go version -m "$W/weir" | awk '$1=="dep"' | wc -l)"
rm -rf "$GOMODCACHE"
export GOMODCACHE=$W/mod-all
s=$(date +%s.%N)
go mod download
e=$(date +%s.%N)
say "$(printf 'go mod download (whole module graph): %s in %.0f s' "$(du -sh "$GOMODCACHE" | cut -f1)" "$(echo "$e - $s" | bc)")"
