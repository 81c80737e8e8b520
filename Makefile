# septa's build. Every target runs on a fresh Debian/Ubuntu machine with Go;
# `.ci/run` installs the system packages that the tests need.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Package versions must grow with every commit: the last tag (or 0.1.0)
# plus the number of commits and the abbreviated hash.
PKGVERSION ?= $(shell v=$$(git describe --tags --abbrev=0 2>/dev/null | sed 's/^v//'); \
	echo "$${v:-0.1.0}+git$$(git rev-list --count HEAD 2>/dev/null || echo 0).$$(git rev-parse --short HEAD 2>/dev/null || echo 0)")
LDFLAGS   := -s -w -X github.com/septa-fw/septa/version.Version=$(VERSION)
BIN       := bin
FUZZTIME  ?= 30s
BENCHCOUNT ?= 10

.PHONY: all build test unit integration race lint fuzz microbench bench bench-smoke examples demo docs deb rpm package-test clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/septa ./cmd/septa
	@if [ -d cmd/septad ] && ls cmd/septad/*.go >/dev/null 2>&1; then \
		$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/septad ./cmd/septad; fi

# The quick start (root): a lab of network namespaces, septad on its
# servers, real traffic, and septa showing what the policy does.
demo: build
	$(GO) run ./integration/demo -bin $(BIN)

# Check every shipped example policy with septa itself.
examples: build
	@for d in packaging/examples/*/policy.d; do $(BIN)/septa check "$$d" || exit 1; done

# Unit tests, fuzz seeds and alloc tests, then the kernel integration
# tests, which run only as root with SEPTA_INTEGRATION=1 (.ci/run sets
# it), all with the race detector; then the allocation tests again
# without it (under it sync.Pool drops items at random).
test:
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run 'Alloc|ReusesBuffer' ./...

unit:
	$(GO) test -count=1 ./...

integration:
	SEPTA_INTEGRATION=1 $(GO) test -count=1 -v ./integration/...

race:
	$(GO) test -race -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# Each fuzz target for FUZZTIME (e.g. make fuzz FUZZTIME=60s); a failing
# input fails the target (see .ci/fuzz.sh).
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) .ci/fuzz.sh

# Micro-benchmarks; compare two runs with benchstat (go tool benchstat old.txt new.txt).
microbench:
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) ./... | tee bench.out

# septa against no firewall, plain nftables and Suricata inline, side by
# side in a lab of network namespaces (root; installs iperf3 and
# Suricata 7 if missing). Results in BENCHRESULTS/results.{md,json}.
# bench-smoke runs one short round of each measurement (CI runs it to keep
# the harness working; it does not judge the numbers).
BENCHRESULTS ?= bench-results
bench: build
	integration/bench/deps.sh
	SEPTA_BENCH_COMMAND='make bench' $(GO) run ./integration/bench -bin $(BIN) -out $(BENCHRESULTS)

bench-smoke: build
	integration/bench/deps.sh
	SEPTA_BENCH_COMMAND='make bench-smoke' $(GO) run ./integration/bench -smoke -bin $(BIN) -out $(BENCHRESULTS)-smoke

# Man pages and completions generated from the command tree.
docs: build
	rm -rf dist/docs && mkdir -p dist/docs/man
	$(BIN)/septa gendocs --man dist/docs/man --completions dist/docs/completions
	gzip -9n dist/docs/man/*.1
	gzip -9nc packaging/man/septad.8 > dist/docs/septad.8.gz

deb: docs
	mkdir -p dist && VERSION=$(PKGVERSION) $(GO) tool nfpm package -f packaging/nfpm.yaml -p deb -t dist/

rpm: docs
	mkdir -p dist && VERSION=$(PKGVERSION) $(GO) tool nfpm package -f packaging/nfpm.yaml -p rpm -t dist/

# Install, upgrade, remove and purge the .deb on this machine, check the
# .rpm, verify the unit (root; CI runs it).
package-test:
	packaging/test.sh

clean:
	rm -rf $(BIN) dist bench.out $(BENCHRESULTS) $(BENCHRESULTS)-smoke
