# proxygen: the commands a developer and CI run. See README.md.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 30s

# MODULES: every Go module in the repository. The root module is the
# generator; runtime is its own standard-library-only module; testdata/golden
# holds the golden cases; observe/* adapters are added when they exist.
MODULES := . runtime testdata/golden $(foreach m,observe/proxyprom observe/proxyotel,$(if $(wildcard $(m)/go.mod),$(m)))

.PHONY: all generate test test-short bench lint demo check fuzz soak modules

all: lint test

## modules: print the module directories the targets below iterate over
modules:
	@echo $(MODULES)

## generate: regenerate every committed generated file (schema, examples, goldens)
generate:
	$(GO) generate ./...
	$(GO) test ./schema -run TestSchemaUpToDate -update
	$(GO) test ./cmd/proxygen -run TestGolden -update

## test: every test of every module, with the race detector (real proxies are started when installed)
test:
	@set -e; for m in $(MODULES); do echo "== go test -race $$m"; (cd $$m && $(GO) test -race -count=1 ./...); done

## test-short: the fast unit tests only
test-short:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -short ./...); done

## bench: run the benchmarks and rewrite BENCHMARKS.md
bench:
	$(GO) run ./internal/benchreport -out BENCHMARKS.md

## lint: formatting, vet and staticcheck of every module
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do echo "== go vet $$m"; (cd $$m && $(GO) vet ./...); done
	@set -e; for m in . runtime $(filter observe/%,$(MODULES)); do echo "== staticcheck $$m"; (cd $$m && $(GO) run $(STATICCHECK) ./...); done

## demo: generate from the example spec and stream the example feed offline through real tunnels
demo:
	$(GO) generate ./examples/feed/...
	$(GO) run ./examples/feed

## check: fail when a committed generated file is stale (drift)
check:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) generate ./...); done
	$(GO) test ./cmd/proxygen -run TestGolden -update >/dev/null
	$(GO) test ./schema -run TestSchemaUpToDate -update >/dev/null
	git diff --exit-code -- . ':!go.sum' ':!*/go.sum'

## fuzz: run each fuzz target for FUZZTIME (not part of CI)
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

## soak: the 60 s load and soak run through danted and squid (not part of CI)
soak:
	PROXYGEN_SOAK=1 $(GO) test -race=false -run TestSoak -timeout 15m -v ./internal/soak
