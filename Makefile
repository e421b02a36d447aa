# The commands a developer and CI use. `make test` is the whole suite: it
# installs what the tests need first, so it works on a fresh machine.

GO ?= go

.PHONY: test deps vet unit soak fuzz demo bench build

test: deps vet unit

deps:
	@scripts/test-deps.sh

# staticcheck is pinned; scripts/test-deps.sh installs it when it is missing.
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet -trimpath ./...
	$(STATICCHECK) ./...

# -trimpath keeps the checkout's directory out of the build cache's keys,
# so a fresh clone (as CI makes) reuses what an earlier run compiled
# instead of compiling every package again under the race detector: that
# took 9 of the 10 CPU-minutes of a cold run.
unit:
	$(GO) test -trimpath -race -count=1 -timeout 10m ./...

# The kill tests, long: at least SOAK_KILLS random SIGKILLs of weir pvuv
# on each path (file → file with aligned and with unaligned checkpoints,
# Kafka → Kafka exactly-once, Kafka → Redis), each round's output compared
# with an exact computation. make test runs the same tests with 4 kills
# per path. No race detector: the jobs run as separate, plain binaries
# anyway, and the in-process broker runs faster without it. The whole log
# goes to SOAK_LOG too, and each path's summary line is repeated at the
# end; a failed path names the directory it kept (stderr of every run of
# the failing round, its checkpoints, output and input) and the seed of
# its kill times (WEIR_SOAK_SEED=n repeats them). It took 15 minutes on a
# busy 2-core machine; the timeout leaves room for a slower one.
SOAK_KILLS ?= 100
SOAK_TIMEOUT ?= 2h
SOAK_LOG ?= soak.out
soak: deps
	@bash -o pipefail -c 'WEIR_SOAK_KILLS=$(SOAK_KILLS) $(GO) test -count=1 -v -timeout $(SOAK_TIMEOUT) \
		-run KillAndResumeExactlyOnce ./cmd/weir 2>&1 | tee $(SOAK_LOG)'; rc=$$?; \
		echo; echo "make soak, $(SOAK_KILLS) kills per path (log: $(SOAK_LOG)):"; \
		grep -h 'soak summary: ' $(SOAK_LOG) | sed 's/.*soak summary: /  /'; exit $$rc

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
	$(GO) test -run '^$$' -fuzz '^FuzzCheckFile$$' -fuzztime $(FUZZTIME) ./internal/snapshot
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeElement$$' -fuzztime $(FUZZTIME) ./internal/runtime
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeAssignment$$' -fuzztime $(FUZZTIME) ./internal/cluster
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeMessage$$' -fuzztime $(FUZZTIME) ./internal/cluster
	$(GO) test -run '^$$' -fuzz '^FuzzLines$$' -fuzztime $(FUZZTIME) ./internal/tail
	$(GO) test -run '^$$' -fuzz '^FuzzParseURL$$' -fuzztime $(FUZZTIME) ./connector/kafka
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSplit$$' -fuzztime $(FUZZTIME) ./connector/kafka
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEvent$$' -fuzztime $(FUZZTIME) ./connector/nexmark
	$(GO) test -run '^$$' -fuzz '^FuzzAppendJSONString$$' -fuzztime $(FUZZTIME) ./connector/http
	$(GO) test -run '^$$' -fuzz '^FuzzJSONDecode$$' -fuzztime $(FUZZTIME) ./sql/format
	$(GO) test -run '^$$' -fuzz '^FuzzJSONScanner$$' -fuzztime $(FUZZTIME) ./sql/format
	$(GO) test -run '^$$' -fuzz '^FuzzCSVDecode$$' -fuzztime $(FUZZTIME) ./sql/format
	$(GO) test -run '^$$' -fuzz '^FuzzCombinedLogDecode$$' -fuzztime $(FUZZTIME) ./sql/format
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeAsyncState$$' -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzLike$$' -fuzztime $(FUZZTIME) ./sql/expr
	$(GO) test -run '^$$' -fuzz '^FuzzCast$$' -fuzztime $(FUZZTIME) ./sql/expr
	$(GO) test -run '^$$' -fuzz '^FuzzDateFormat$$' -fuzztime $(FUZZTIME) ./sql/expr
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./sql/parser

# A release build: no paths of the build machine in the binary (-trimpath)
# and no symbol table or DWARF (-s -w), a third smaller. Native Google Cloud
# Storage and Azure Blob Storage take large SDKs and are left out unless
# asked for: make build TAGS=gcs,azblob.
TAGS ?=
build:
	$(GO) build -trimpath -ldflags '-s -w' $(if $(TAGS),-tags $(TAGS)) -o bin/weir ./cmd/weir

demo:
	$(GO) run ./cmd/weir demo

bench:
	$(GO) run ./cmd/weir bench pvuv
