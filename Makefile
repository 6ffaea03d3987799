# Two commands do all the set-up on a fresh machine: `make preview` and `make test`.
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTHON ?= python3

.PHONY: preview test tools bench render clean e2e-tools e2e

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip==25.3
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The dev stack's object table, then the policy pack's rules over it (fails on a mandatory violation).
preview: $(STAMP)
	$(BIN)/netpol preview --stack dev
	$(BIN)/netpol check --stack dev

# Debian tools the tests drive for real: kubectl (kustomize), promtool, jq; actionlint for the workflows.
tools:
	@need=""; \
	command -v kubectl  >/dev/null || need="$$need kubernetes-client"; \
	command -v promtool >/dev/null || need="$$need prometheus"; \
	command -v jq       >/dev/null || need="$$need jq"; \
	if [ -n "$$need" ]; then \
	  echo "installing Debian packages:$$need"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$need >/dev/null; \
	fi
	@if [ -x tools/install-actionlint.sh ]; then tools/install-actionlint.sh; fi

test: $(STAMP) tools
	$(BIN)/pytest -n 2 -p no:cacheprovider --ignore=tests/e2e --ignore=tests/oracle

# The real binaries, built from Go modules into .tools/bin (cached: a no-op when up to date).
# See tools/README.md for the pins and what a cold build costs.
e2e-tools: $(STAMP)
	tools/build-tools

# The real-engine tier: the pulumi CLI on a file backend, a local etcd + kube-apiserver, and
# Cilium's own engine as the oracle. Builds what it needs first.
e2e: $(STAMP) tools e2e-tools
	source tools/e2e-env && $(BIN)/pytest -n 2 --dist loadfile -p no:cacheprovider tests/e2e tests/oracle

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

render: $(STAMP)
	for s in dev integration live; do $(BIN)/netpol render --stack $$s --out rendered/$$s; done

clean:
	rm -rf $(VENV) rendered .pulumi-render .pytest_cache
