# metalgit — developer and CI entry points.  `make help` lists the targets.
#
# Every variable below is overridable from the command line or environment,
# e.g. `make test TEST_TIMEOUT=40m`, `make bench BENCH=Allocate PKG=./alloc/...`,
# `make fuzz FUZZTIME=5m`.  CI runs exactly `make ci` (see .ci/run).

SHELL       := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS   += --no-print-directory

# --- toolchain -------------------------------------------------------------
GO       ?= go
GOFMT    ?= gofmt

# --- build -----------------------------------------------------------------
BIN_DIR  ?= bin
BINARY   ?= $(BIN_DIR)/metalgit
CMD_PKG  ?= ./cmd/metalgit
BUILD_FLAGS ?=

# --- tests -----------------------------------------------------------------
PKG          ?= ./...
TEST_TIMEOUT ?= 20m
TEST_FLAGS   ?= -race -count=1 -timeout $(TEST_TIMEOUT)
BENCH        ?= .
BENCH_FLAGS  ?= -benchmem
FUZZ         ?= ^Fuzz
FUZZTIME     ?= 30s
FUZZ_PKG     ?= $(PKG)

# --- cached tools ----------------------------------------------------------
CACHE_DIR ?= $(HOME)/.cache/metalgit
TOOLS_BIN ?= $(CACHE_DIR)/bin
GOLANGCI_LINT_VERSION ?= v2.6.2
GOLANGCI_LINT_MODULE  ?= github.com/golangci/golangci-lint/v2
GOLANGCI_LINT_PKG     ?= $(GOLANGCI_LINT_MODULE)/cmd/golangci-lint
GOLANGCI_LINT         ?= $(TOOLS_BIN)/golangci-lint
# JSON schema shipped in the golangci-lint module: lets `config verify` work
# offline (its default schema URL is golangci-lint.run, unreachable in CI).
GOLANGCI_LINT_SCHEMA  ?= $(TOOLS_BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION).jsonschema.json
GOLANGCI_LINT_FLAGS   ?=

# --- demo ------------------------------------------------------------------
DEMO_SRC ?= examples/dc1
DEMO_OUT ?= out/demo
DEMO_DIR ?= $(DEMO_OUT)/inventory

.PHONY: help build test check fmt-check vet tidy-check lint lint-config tools \
        versions ci demo bench fuzz clean clean-tools

help: ## Show this help.
	@echo 'Usage: make <target> [VAR=value ...]'
	@echo
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'
	@echo
	@echo 'Common variables: PKG=$(PKG) TEST_TIMEOUT=$(TEST_TIMEOUT) BENCH=$(BENCH) FUZZTIME=$(FUZZTIME)'
	@echo '                  CACHE_DIR=$(CACHE_DIR) GOLANGCI_LINT_VERSION=$(GOLANGCI_LINT_VERSION)'

build: ## Build bin/metalgit.
	$(GO) build $(BUILD_FLAGS) -o $(BINARY) $(CMD_PKG)

test: ## Run all tests with the race detector (what CI runs).
	$(GO) test $(TEST_FLAGS) $(PKG)

check: fmt-check vet tidy-check lint ## gofmt check, go vet, go mod tidy -diff and lint (use `make -k check` to see every failure).

fmt-check: ## Fail listing files that gofmt would change.
	@echo '>> gofmt -l'
	@files="$$(find . \( -path ./.cache -o -path ./$(BIN_DIR) \) -prune -o -type f -name '*.go' -print0 \
	           | xargs -0 -r $(GOFMT) -l)"; \
	if [ -n "$$files" ]; then \
	  echo 'gofmt: these files are not formatted (run gofmt -w):'; \
	  echo "$$files" | sed 's/^/  /'; \
	  exit 1; \
	fi

vet: ## go vet ./...
	$(GO) vet ./...

tidy-check: ## Fail if go mod tidy would change go.mod/go.sum.
	$(GO) mod tidy -diff

lint: tools lint-config ## Run golangci-lint (pinned, cached in CACHE_DIR).
	$(GOLANGCI_LINT) run $(GOLANGCI_LINT_FLAGS) ./...

lint-config: tools ## Validate .golangci.yml against the pinned golangci-lint schema.
	$(GOLANGCI_LINT) config verify --schema 'file://$(abspath $(GOLANGCI_LINT_SCHEMA))'

# Reinstalls only when the cached binary is missing, reports another version, or
# was built by another Go release (golangci-lint cannot analyse code for a Go
# newer than the one it was built with, so a toolchain bump forces a rebuild).
tools: ## Install pinned tools (golangci-lint) into CACHE_DIR if missing or outdated.
	@want="has version $(patsubst v%,%,$(GOLANGCI_LINT_VERSION)) built with $$($(GO) env GOVERSION) "; \
	if [ -x '$(GOLANGCI_LINT)' ] && '$(GOLANGCI_LINT)' version 2>/dev/null | grep -qF -- "$$want" \
	   && [ -s '$(GOLANGCI_LINT_SCHEMA)' ]; then \
	  exit 0; \
	fi; \
	echo ">> installing $(GOLANGCI_LINT_PKG)@$(GOLANGCI_LINT_VERSION) into $(TOOLS_BIN)"; \
	mkdir -p '$(TOOLS_BIN)'; \
	start=$$(date +%s); \
	cd / && GOWORK=off GOBIN='$(abspath $(TOOLS_BIN))' GOFLAGS= $(GO) install $(GOLANGCI_LINT_PKG)@$(GOLANGCI_LINT_VERSION); \
	dir="$$(GOWORK=off GOFLAGS= $(GO) mod download -json $(GOLANGCI_LINT_MODULE)@$(GOLANGCI_LINT_VERSION) \
	        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p')"; \
	cp "$$dir/jsonschema/golangci.next.jsonschema.json" '$(abspath $(GOLANGCI_LINT_SCHEMA))'; \
	chmod 0644 '$(abspath $(GOLANGCI_LINT_SCHEMA))'; \
	echo ">> golangci-lint installed in $$(( $$(date +%s) - start ))s"; \
	'$(abspath $(GOLANGCI_LINT))' version

versions: tools ## Print the versions of the tools the build uses.
	@$(GO) version
	@for v in GOOS GOARCH GOROOT GOCACHE GOMODCACHE GOPROXY GOFLAGS GOTOOLCHAIN CGO_ENABLED; do \
	  printf '  %s=%s\n' "$$v" "$$($(GO) env $$v)"; \
	done
	@$(MAKE) --version | sed -n 1p
	@git --version
	@{ "$$($(GO) env CC)" --version 2>/dev/null || echo 'no C compiler found: go test -race needs one'; } | sed -n 1p
	@'$(GOLANGCI_LINT)' version

ci: check test ## Everything CI runs: check + test.

demo: build ## Validate, plan and allocate examples/dc1 in out/demo (allocation run twice: must be idempotent).
	rm -rf -- '$(DEMO_OUT)'
	mkdir -p -- '$(dir $(DEMO_DIR))'
	cp -R -- '$(DEMO_SRC)' '$(DEMO_DIR)'
	@echo '>> metalgit validate'
	$(BINARY) validate '$(DEMO_DIR)'
	@echo '>> metalgit plan'
	$(BINARY) plan '$(DEMO_DIR)'
	@echo '>> metalgit allocate'
	$(BINARY) allocate '$(DEMO_DIR)'
	@shopt -s nullglob; files=('$(DEMO_DIR)'/state/*.yaml); \
	if [ $${#files[@]} -eq 0 ]; then echo 'demo: allocate wrote no $(DEMO_DIR)/state/*.yaml' >&2; exit 1; fi; \
	for f in "$${files[@]}"; do echo "----- $$f"; cat -- "$$f"; done
	rm -rf -- '$(DEMO_OUT)/state.before'
	cp -R -- '$(DEMO_DIR)/state' '$(DEMO_OUT)/state.before'
	@echo '>> metalgit allocate (second run: state must not change)'
	$(BINARY) allocate '$(DEMO_DIR)'
	@if diff -ru -- '$(DEMO_OUT)/state.before' '$(DEMO_DIR)/state'; then \
	  echo '>> second allocate changed nothing'; \
	else \
	  echo 'demo: second allocate changed the state files (diff above)' >&2; exit 1; \
	fi

bench: ## Run benchmarks (BENCH=regexp, PKG=packages, BENCH_FLAGS=extra flags).
	$(GO) test -run '^$$' -bench '$(BENCH)' $(BENCH_FLAGS) $(PKG)

fuzz: ## Run every fuzz target for FUZZTIME each (FUZZ=name regexp, FUZZ_PKG=packages).
	GO='$(GO)' FUZZ='$(FUZZ)' FUZZTIME='$(FUZZTIME)' bash hack/fuzz.sh $(FUZZ_PKG)

clean: ## Remove bin/ and out/.
	rm -rf -- '$(BIN_DIR)' out

clean-tools: ## Remove cached tools (CACHE_DIR/bin); they are reinstalled on demand.
	rm -rf -- '$(TOOLS_BIN)'
