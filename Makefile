# amber's tasks. "make demo" and "make test" are all a fresh clone needs.
GO      ?= go
PKGS    := ./... ./testdata/fixture ./testdata/chaos
BENCHTIME ?= 1x

.PHONY: all build test demo lint bench bench-large fuzz tidy-check clean

all: build

build:
	$(GO) build -o bin/amber ./cmd/amber

# The whole suite, race detector on. Tests that read third-party WARCs and
# robots cases need AMBER_INTEROP (set by .ci/run); elsewhere they skip and say so.
test:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

# Serve the bundled fixture site on loopback, crawl it, and show what was kept.
demo: build
	./bin/amber demo --dir demo-output

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

# Benchmarks: figures go in the issue notes, never in timed tests.
# BENCHCOUNT=3 gives min/median/max for the crawl benchmarks (bench/README.md).
BENCHCOUNT ?= 1
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) -timeout 60m $(PKGS)

# About 104,000 captures (20,000 articles): memory growth with the frontier.
bench-large:
	AMBER_BENCH_LARGE=1 AMBER_BENCH_PER_HOST=8 $(GO) test -run '^$$' -bench 'Crawl$$' -benchtime 1x -timeout 120m ./bench

# Each fuzz target for a short while; findings land in testdata/fuzz as regressions.
# FUZZMINTIME bounds the minimisation of each new input: at go's default
# (60s) FuzzReader spent whole runs minimising its first find and seemed
# to stall at "execs: 9 (0/sec)".
FUZZTIME ?= 30s
FUZZMINTIME ?= 5s
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg || exit 1; \
	  done; \
	done

tidy-check:
	cp go.mod /tmp/amber-go.mod.bak; cp go.sum /tmp/amber-go.sum.bak
	$(GO) mod tidy
	@git diff --exit-code go.mod go.sum || (echo "go mod tidy changes go.mod/go.sum: run it and commit"; exit 1)

clean:
	rm -rf bin demo-output
