# Build tags that avoid C libraries this project does not need (btrfs, gpgme).
export GOFLAGS := -tags=exclude_graphdriver_btrfs,containers_image_openpgp
PREFIX ?= /usr/local
SYSTEMD_GENERATOR_DIR ?= /usr/lib/systemd/system-generators
SYSTEMD_USER_GENERATOR_DIR ?= /usr/lib/systemd/user-generators
GO ?= go
GOLANGCI_LINT_VERSION ?= v2.15.0
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/engine-oss/engine/pkg/libengine.Version=$(VERSION)

.PHONY: all engine test unit e2e lint bench install clean

all: engine

# The engine finds engine-monitor beside its own binary.
engine:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/engine ./cmd/engine-monitor

# The e2e suite builds its own binary from the tree unless ENGINE_BINARY is set.
test: engine
	$(GO) test -count=1 -timeout 25m ./... 

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test/e2e)

e2e: engine
	ENGINE_BINARY=$(CURDIR)/bin/engine $(GO) test -count=1 -timeout 25m -v ./test/e2e/

lint:
	@test -z "$$(gofmt -l cmd pkg test)" || { gofmt -l cmd pkg test; echo "gofmt: run gofmt -w on the files above"; exit 1; }
	$(GO) vet ./...
	@command -v golangci-lint >/dev/null || $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" golangci-lint run ./...

bench: engine
	./hack/bench.sh

install: engine
	install -D -m 0755 bin/engine $(DESTDIR)$(PREFIX)/bin/engine
	install -D -m 0755 bin/engine-monitor $(DESTDIR)$(PREFIX)/libexec/engine/engine-monitor
	install -d $(DESTDIR)$(SYSTEMD_GENERATOR_DIR) $(DESTDIR)$(SYSTEMD_USER_GENERATOR_DIR)
	ln -sf $(PREFIX)/bin/engine $(DESTDIR)$(SYSTEMD_GENERATOR_DIR)/engine-system-generator
	ln -sf $(PREFIX)/bin/engine $(DESTDIR)$(SYSTEMD_USER_GENERATOR_DIR)/engine-user-generator

clean:
	rm -rf bin
