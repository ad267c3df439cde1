# drplan's build. Every target works on a fresh machine with Go and the Go
# module proxy; tools the targets need are installed into ./bin by the
# targets themselves.

GO                  ?= go
BIN                 := $(CURDIR)/bin
STATICCHECK_VERSION := v0.8.2
FUZZTIME            ?= 60s

.PHONY: build test lint fuzz bench bench-validate bench-drill soak clean

build: ## build bin/drplan
	$(GO) build -o $(BIN)/drplan ./cmd/drplan

test: ## run every test: unit, fixtures, golden files, CLI scripts
	$(GO) test ./...

lint: $(BIN)/staticcheck ## go vet, gofmt and staticcheck
	$(GO) vet ./...
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt -l lists files to format:"; echo "$$out"; exit 1; fi
	$(BIN)/staticcheck ./...

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

fuzz: ## fuzz the plan loader for FUZZTIME (default 60s)
	$(GO) test ./plans -run '^$$' -fuzz FuzzValidate -fuzztime $(FUZZTIME)

bench: ## validate a 10,000-VM plan vs raw parsing and terraform validate; build 1,000- and 5,000-VM worlds
	$(GO) run ./internal/tools/bench
	$(GO) test ./simulate -run '^$$' -bench World -benchtime 1x

BENCH_RUNS ?= 3

bench-validate: ## time drplan validate and its peak RSS on generated 10,000- and 100,000-VM plans
	$(GO) run ./internal/tools/bench -validate 10000,100000 -runs $(BENCH_RUNS)

bench-drill: ## drill 1,000 simulated VMs (DRPLAN_BENCH_VMS=5000 for more): calls, CPU and memory per VM, makespan vs estimate, drill vs a raw govmomi loop
	DRPLAN_BENCH_VMS=$${DRPLAN_BENCH_VMS:-1000} $(GO) test ./runner -run '^$$' -bench Drill -benchtime 1x -timeout 30m

SOAK_TRIALS ?= 30

soak: ## kill a 100-VM failover with SIGKILL at random moments SOAK_TRIALS times, resume it, compare with an uninterrupted run
	DRPLAN_CRASH_TRIALS=$(SOAK_TRIALS) $(GO) test ./internal/command -run TestCrashResume -v -timeout 60m | grep -E 'seed|trials passed|killed|FAIL|ok'

clean:
	rm -rf $(BIN)
