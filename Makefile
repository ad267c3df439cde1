# drplan's build. Every target works on a fresh machine with Go and the Go
# module proxy; tools the targets need are installed into ./bin by the
# targets themselves.

GO                  ?= go
BIN                 := $(CURDIR)/bin
STATICCHECK_VERSION := v0.8.2
FUZZTIME            ?= 60s

.PHONY: build dist test drill-offline chromium pyvmomi xmllint shells lint fuzz bench bench-validate bench-drill soak clean

build: ## build bin/drplan
	$(GO) build -o $(BIN)/drplan ./cmd/drplan

DIST_PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64

# Static binaries, without paths of this machine and without symbols,
# named drplan_OS_ARCH, and their SHA-256 sums. Cross-compiling needs no
# network once the modules are in the module cache.
dist: ## build static release binaries for linux and darwin (amd64, arm64) into dist/ with SHA256SUMS
	@rm -rf dist && mkdir -p dist
	@for p in $(DIST_PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; \
	  echo "dist/drplan_$${os}_$${arch}"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags='-s -w' -o dist/drplan_$${os}_$${arch} ./cmd/drplan || exit 1; \
	done
	cd dist && sha256sum drplan_* > SHA256SUMS

test: chromium pyvmomi xmllint shells ## run every test: unit, fixtures, golden files, CLI scripts
	$(GO) test ./...

# Every example's drill inside a network namespace with only loopback up:
# a simulated drill sends nothing off this machine (its http and tcp
# checks are answered by the simulated VMs' services). faults fails as its
# README says; erp needs terraform. Skipped, saying so, where unshare -n
# is not permitted.
drill-offline: build ## drill every example with no network but loopback (unshare -n)
	@if ! unshare -n true 2>/dev/null; then \
	  echo "drill-offline: SKIPPED: unshare -n is not permitted here (it needs root or unprivileged user namespaces)"; exit 0; fi; \
	if ! command -v ip >/dev/null; then \
	  if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; \
	  else echo "drill-offline: needs ip (Debian's iproute2) to bring loopback up: sudo apt-get install -y iproute2"; exit 1; fi; fi; \
	home=$$(mktemp -d); trap 'rm -rf "$$home"' EXIT; fail=0; \
	for ex in webshop branches erp faults; do \
	  args=""; want=0; \
	  if [ $$ex = erp ]; then \
	    if ! command -v terraform >/dev/null; then echo "drill-offline: erp skipped: terraform is not on PATH"; continue; fi; \
	    args=--auto-approve; fi; \
	  if [ $$ex = faults ]; then want=1; fi; \
	  DRPLAN_HOME=$$home unshare -n sh -c 'ip link set lo up && exec "$$0" drill $$1 "$$2"' $(BIN)/drplan "$$args" examples/$$ex >$$home/$$ex.log 2>&1; got=$$?; \
	  if [ $$got -eq $$want ]; then echo "drill-offline: $$ex exit $$got as expected"; \
	  else echo "drill-offline: $$ex exit $$got, want $$want:"; cat $$home/$$ex.log; fail=1; fi; \
	done; exit $$fail

# The HTML report is tested in a headless Chromium (report/html_test.go).
# Found on PATH or through DRPLAN_CHROMIUM; else installed from Debian's
# packages when this runs as root with apt-get; else the target says how.
chromium:
	@if [ -n "$${DRPLAN_CHROMIUM:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the HTML report test" >&2; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "the HTML report test needs Chromium: install it with 'sudo apt-get install -y chromium', or set DRPLAN_CHROMIUM to a Chromium or Chrome binary" >&2; exit 1; \
	fi

# The JUnit files are validated against the format CI reporters read
# (report/testdata/junit.xsd) with libxml2's xmllint: found on PATH; else
# installed from Debian's packages when this runs as root with apt-get;
# else the target says how.
xmllint:
	@if command -v xmllint >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's libxml2-utils (xmllint) for the JUnit schema test" >&2; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxml2-utils >/dev/null; \
	else \
		echo "the JUnit schema test needs xmllint: install it with 'sudo apt-get install -y libxml2-utils'" >&2; exit 1; \
	fi

# The completion scripts are run in their shells
# (testscript/testdata/cli_version_completion.txtar): zsh and fish found on
# PATH; else installed from Debian's packages when this runs as root with
# apt-get; else the target says how.
shells:
	@if command -v zsh >/dev/null && command -v fish >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's zsh and fish for the completion script test" >&2; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zsh fish >/dev/null; \
	else \
		echo "the completion script test needs zsh and fish: install them with 'sudo apt-get install -y zsh fish'" >&2; exit 1; \
	fi

# A second vSphere client reads a simulated site in the CLI scripts
# (testscript/testdata/sim_serve_pyvmomi.txtar): Debian's pyVmomi, a strict
# parser. Found through DRPLAN_PYTHON or /usr/bin/python3; else installed
# from Debian's packages when this runs as root with apt-get; else the
# target says how.
pyvmomi:
	@py="$${DRPLAN_PYTHON:-/usr/bin/python3}"; \
	if "$$py" -c 'import pyVmomi' 2>/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's python3-pyvmomi for the pyVmomi client test" >&2; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pyvmomi >/dev/null; \
	else \
		echo "the pyVmomi client test needs pyVmomi: install it with 'sudo apt-get install -y python3-pyvmomi', or set DRPLAN_PYTHON to a Python that imports pyVmomi" >&2; exit 1; \
	fi

lint: $(BIN)/staticcheck ## go vet, gofmt and staticcheck
	$(GO) vet ./...
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt -l lists files to format:"; echo "$$out"; exit 1; fi
	$(BIN)/staticcheck ./...

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

fuzz: ## fuzz the plan loader, then the compiler (load + compile for every mode), each for FUZZTIME (default 60s)
	$(GO) test ./plans -run '^$$' -fuzz FuzzValidate -fuzztime $(FUZZTIME)
	$(GO) test ./compiler -run '^$$' -fuzz FuzzCompile -fuzztime $(FUZZTIME)

bench: ## validate a 10,000-VM plan vs raw parsing and terraform validate; build 1,000- and 5,000-VM worlds
	$(GO) run ./internal/tools/bench
	$(GO) test ./simulate -run '^$$' -bench World -benchtime 1x

BENCH_RUNS ?= 3

bench-validate: ## time drplan validate and its peak RSS on generated 10,000- and 100,000-VM plans
	$(GO) run ./internal/tools/bench -validate 10000,100000 -runs $(BENCH_RUNS)

bench-drill: ## drill 1,000 simulated VMs on the virtual clock (DRPLAN_BENCH_VMS=5000 for more; max_parallel 64, 2-minute boots): wall, CPU ms/VM, peak RSS, calls/VM, achieved/estimate; drill vs a raw govmomi loop
	DRPLAN_BENCH_VMS=$${DRPLAN_BENCH_VMS:-1000} $(GO) test ./runner -run '^$$' -bench Drill -benchtime 1x -timeout 30m

SOAK_TRIALS ?= 30

soak: ## kill a 100-VM failover with SIGKILL at random moments SOAK_TRIALS times, resume it, compare with an uninterrupted run
	DRPLAN_CRASH_TRIALS=$(SOAK_TRIALS) $(GO) test ./internal/command -run TestCrashResume -v -timeout 60m | grep -E 'seed|trials passed|killed|FAIL|ok'

clean:
	rm -rf $(BIN) dist
