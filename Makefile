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

# GENERATED: where committed generated files live: the JSON Schema, each
# example's generated routes, the golden cases. `make check` fails on any
# change or any new untracked file under these paths.
GENERATED := schema/schema.json examples testdata/golden

## generate: regenerate every committed generated file, each once: go generate
## in every module (schema/schema.json, examples/*/proxies), then the goldens
generate:
	@set -e; for m in $(MODULES); do echo "== go generate $$m"; (cd $$m && $(GO) generate ./...); done
	$(GO) test -count=1 ./cmd/proxygen -run TestGolden -update

## test: every test of every module, with the race detector (real proxies are started when installed)
test:
	@set -e; for m in $(MODULES); do echo "== go test -race $$m"; (cd $$m && $(GO) test -race -count=1 ./...); done

## test-short: the fast unit tests only
test-short:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -short ./...); done

## bench: run the benchmarks and rewrite BENCHMARKS.md
bench:
	$(GO) run ./internal/tools/benchreport -out BENCHMARKS.md

## lint: formatting, vet and staticcheck of every module
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do echo "== go vet $$m"; (cd $$m && $(GO) vet ./...); done
	@set -e; for m in . runtime $(filter observe/%,$(MODULES)); do echo "== staticcheck $$m"; (cd $$m && $(GO) run $(STATICCHECK) ./...); done

## demo: generate from the example spec and stream the example feed offline through real tunnels
demo:
	$(GO) generate ./examples/feed/...
	$(GO) run ./examples/feed

## check: fail when a committed generated file is stale or a generated file is
## not committed (drift): make generate, then nothing may differ from HEAD
check: generate
	git diff --exit-code -- . ':!go.sum' ':!*/go.sum'
	@new=$$(git status --porcelain --untracked-files=all -- $(GENERATED)); if [ -n "$$new" ]; then echo "generated files not committed:"; echo "$$new"; exit 1; fi

## fuzz: run each fuzz target for FUZZTIME (not part of CI)
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

## soak: the 60 s load and soak run through danted and squid, then the 60 s
## soak with faults over a pool of danted, squid and microsocks (not part of CI)
soak:
	PROXYGEN_SOAK=1 $(GO) test -race=false -run TestSoak -timeout 15m -v ./internal/systest/soak
