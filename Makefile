# cicd-excellence/actions — every command a developer or CI needs.
#   make demo   run the pipeline for real on the embedded local default
#   make test   everything: unit, act end-to-end, actionlint, README checks
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)
GO ?= go
TOOLS := $(shell awk '!/^\#/ && NF == 2 { print $$1 }' tools/versions.txt)

.PHONY: all test tools demo bench fuzz webhooks readme release-snapshot release-reproducible clean

all: test

## tools: install the pinned tools of tools/versions.txt into ./bin from the Go module proxy
tools: $(addprefix $(BIN)/,act actionlint registry staticcheck deadcode)

$(BIN)/%: tools/versions.txt
	@mkdir -p $(BIN)
	@pin=$$(awk -v n=$* '$$1 == n { print $$2 }' tools/versions.txt); \
	  echo "go install $$pin"; GOBIN=$(BIN) CGO_ENABLED=0 $(GO) install $$pin
	@touch $@

## test: the whole suite (what CI runs)
test: tools
	$(GO) vet ./...
	staticcheck ./...
	@# -test: code reached only from tests (the local GitHub, the step harness) is not dead
	@out=$$(deadcode -test ./...); test -z "$$out" || { echo "$$out"; echo "deadcode: remove the unreachable functions above"; exit 1; }
	@test -z "$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))" || { gofmt -l $$(git ls-files -co --exclude-standard '*.go'); echo "gofmt needed"; exit 1; }
	@rm -f .hardening-summary
	HARDENING_SUMMARY=$(CURDIR)/.hardening-summary $(GO) test -count=1 -timeout 20m ./...
	@cat .hardening-summary

## demo: run the pipeline on the embedded local default (no GitHub account needed)
demo: tools
	$(GO) run ./internal/testkit/demo

## bench: open-infra-pr vs the seed's clone flow (1k/20k commits, +50ms per request), same-key and different-key crowds of 20
bench:
	$(GO) run ./internal/testkit/bench

## fuzz: run every go test -fuzz target for FUZZTIME each (default 30s); a crasher stays under its package's testdata/fuzz/ to commit as a regression seed
FUZZTIME ?= 30s
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) internal/testkit/hardening/fuzz.sh

## webhooks: regenerate testdata/webhooks from the pinned @octokit/webhooks-examples
webhooks:
	npm ci --no-audit --no-fund
	node testdata/webhooks/generate.mjs

clean:
	rm -rf $(BIN) dist node_modules

## readme: regenerate the inputs/outputs tables of every action's README
readme:
	$(GO) run ./internal/build/readme/cmd/readme-gen

## release-snapshot: build all six binaries and the manifest locally (dist/)
release-snapshot: $(BIN)/goreleaser
	RELEASE_VERSION=v0.0.0-snapshot goreleaser release --snapshot --clean --skip=publish
	$(GO) run ./internal/build/release/cmd/release-manifest -version v0.0.0-snapshot -out dist/manifest.txt dist/checksums.txt
	@cat dist/manifest.txt

## release-reproducible: build the release twice and show the checksums are identical
release-reproducible: $(BIN)/goreleaser
	RELEASE_VERSION=v0.0.0-snapshot goreleaser release --snapshot --clean --skip=publish >/dev/null
	cp dist/checksums.txt dist.first.checksums.txt
	RELEASE_VERSION=v0.0.0-snapshot goreleaser release --snapshot --clean --skip=publish >/dev/null
	diff dist.first.checksums.txt dist/checksums.txt && echo "reproducible: two builds, identical sha256 for every binary"
	@cat dist/checksums.txt; rm -f dist.first.checksums.txt
