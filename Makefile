# tug — build, test, demo, benchmarks. `make help` lists the targets.
GO        ?= go
TAGS      := exclude_graphdriver_btrfs,seccomp
PREFIX    ?= /usr/local
VERSION   := $(shell cat VERSION 2>/dev/null || echo 0.1.0-dev)
COMMIT    := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT) -X 'main.buildTime=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)'
export PATH := $(PATH):/usr/local/go/bin
export GOFLAGS := -buildvcs=false

# The storage library re-executes this binary; without cgo that re-exec loops forever.
ifeq ($(CGO_ENABLED),0)
$(error tug must be built with cgo: unset CGO_ENABLED or set CGO_ENABLED=1)
endif
export CGO_ENABLED := 1

.PHONY: all build test unit system demo bench completions docs install lint deps clean help

all: build

help:
	@echo "targets: build test unit system demo bench completions install lint deps clean"

build: bin/tug

SOURCES   := $(shell find cmd libpod rootless pkg -name '*.go' -o -name '*.c' -o -name '*.h' 2>/dev/null) go.mod go.sum
SHIM      := cmd/tug/shim/tug-shim

# tug embeds tug-shim, the small binary its monitors and container inits run
# from (pkg/shim), with its checksum. Without the tugshim tag (go build,
# go test) tug runs them from itself.
bin/tug: $(SOURCES) $(SHIM)
	$(GO) build -tags $(TAGS),tugshim -ldflags "$(LDFLAGS)" -o bin/tug ./cmd/tug

$(SHIM): $(SOURCES)
	@mkdir -p $(@D)
	$(GO) build -tags $(TAGS) -ldflags "-s -w" -o $@.tmp ./cmd/tug-shim
	sha256sum $@.tmp | cut -c1-16 > $@.sha256
	mv $@.tmp $@

# deps installs the Debian packages the build and the tests need (root only).
deps:
	@hack/install-deps.sh

unit:
	$(GO) test -tags $(TAGS) ./...

system: build
	$(GO) test -tags "$(TAGS),system" -count=1 -timeout 40m ./test/system/... $(SYSTEM_FLAGS)

test: deps lint unit system

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags $(TAGS) ./...

demo: deps build
	@hack/demo.sh

bench: deps build
	@hack/bench/run.sh

completions: build
	@mkdir -p completions
	bin/tug completion bash > completions/tug.bash
	bin/tug completion zsh > completions/_tug
	bin/tug completion fish > completions/tug.fish

install: build
	install -D -m 0755 bin/tug $(DESTDIR)$(PREFIX)/bin/tug
	install -D -m 0755 contrib/docker $(DESTDIR)$(PREFIX)/bin/docker-tug
	install -D -m 0644 completions/tug.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/tug
	install -D -m 0644 completions/_tug $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_tug
	install -D -m 0644 completions/tug.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/tug.fish
	for kind in system user; do \
		mkdir -p $(DESTDIR)$(PREFIX)/lib/systemd/$$kind && \
		sed 's|@@TUG@@|$(PREFIX)/bin/tug|' contrib/systemd/$$kind/tug-restart.service > $(DESTDIR)$(PREFIX)/lib/systemd/$$kind/tug-restart.service; \
	done

clean:
	rm -rf bin cmd/tug/shim
