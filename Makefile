# The commands a developer and CI use. `make test` is the whole suite: it
# installs what the tests need first, so it works on a fresh machine.

GO ?= go

.PHONY: test deps vet unit fuzz demo bench build

test: deps vet unit

deps:
	@scripts/test-deps.sh

# staticcheck is pinned; scripts/test-deps.sh installs it when it is missing.
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...

unit:
	$(GO) test -race -count=1 -timeout 10m ./...

# The fuzz targets' seeds run with the unit tests. Fuzzing proper is a
# separate step: its instrumented build of everything the tests import
# costs minutes on a cold cache. make fuzz FUZZTIME=5m for a longer run.
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./app/pvuv
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeMetadata$$' -fuzztime $(FUZZTIME) ./internal/snapshot
	$(GO) test -run '^$$' -fuzz '^FuzzKeyedReader$$' -fuzztime $(FUZZTIME) ./internal/snapshot
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeString$$' -fuzztime $(FUZZTIME) ./codec
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeInt64$$' -fuzztime $(FUZZTIME) ./codec
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCBORStruct$$' -fuzztime $(FUZZTIME) ./codec

build:
	$(GO) build -o bin/weir ./cmd/weir

demo:
	$(GO) run ./cmd/weir demo

bench:
	$(GO) run ./cmd/weir bench pvuv
