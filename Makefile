# proxygen: the commands a developer and CI run. See README.md.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 30s

.PHONY: all generate test test-short bench lint demo check fuzz soak

all: lint test

## generate: regenerate every committed generated file (schema, examples, goldens)
generate:
	$(GO) generate ./...
	$(GO) test ./schema -run TestSchemaUpToDate -update
	$(GO) test ./cmd/proxygen -run TestGolden -update

## test: every test, with the race detector (real proxies are started when installed)
test:
	$(GO) test -race -count=1 ./...

## test-short: the fast unit tests only
test-short:
	$(GO) test -short ./...

## bench: run the benchmarks and rewrite BENCHMARKS.md
bench:
	$(GO) run ./internal/benchreport -out BENCHMARKS.md

## lint: formatting, vet and staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd testdata/golden && $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## demo: generate from the example spec and stream the example feed offline through real tunnels
demo:
	$(GO) generate ./examples/feed/...
	$(GO) run ./examples/feed

## check: fail when a committed generated file is stale (drift)
check:
	$(GO) generate ./...
	$(GO) test ./cmd/proxygen -run TestGolden -update >/dev/null
	$(GO) test ./schema -run TestSchemaUpToDate -update >/dev/null
	git diff --exit-code -- . ':!go.sum'

## fuzz: run each fuzz target for FUZZTIME (not part of CI)
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

## soak: the 60 s load and soak run through danted and squid (not part of CI)
soak:
	PROXYGEN_SOAK=1 $(GO) test -race=false -run TestSoak -timeout 15m -v ./internal/soak
