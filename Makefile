# f1fetch: build, the offline demo, tests and pipeline checks.
# `make demo` needs no network: it serves data/mirror in-process.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X main.version=$(VERSION) -X main.dateBuilt=$(DATE)
BIN     := bin/f1fetch

.PHONY: build demo test lint-pipelines unit-pipelines

build:
	go build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/f1fetch

demo: build
	$(BIN) demo

test:
	go test -race ./...

# session_to_postgres.yaml and the Kafka pipelines need their DSN / brokers
# set to lint; placeholders are enough, nothing is contacted.
lint-pipelines: build
	POSTGRES_DSN=$${POSTGRES_DSN:-postgres://lint@localhost/lint} $(BIN) lint pipelines/*.yaml

unit-pipelines: build
	$(BIN) test ./pipelines/...

# The benchmark against the alternatives (about 7 minutes; not part of CI): bench/RESULTS.md
.PHONY: bench
bench:
	bench/run.sh
