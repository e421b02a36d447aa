# The commands a developer and CI use. `make test` is the whole suite: it
# installs what the tests need first, so it works on a fresh machine.

GO ?= go

.PHONY: test deps vet unit fuzz demo bench build

test: deps vet unit fuzz

deps:
	@scripts/test-deps.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 10m ./...

# A short run of every fuzz target; longer runs: make fuzz FUZZTIME=5m
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./app/pvuv

build:
	$(GO) build -o bin/weir ./cmd/weir

demo:
	$(GO) run ./cmd/weir demo

bench:
	$(GO) run ./cmd/weir bench pvuv
