#!/usr/bin/env bash
# Build .tools/bin/cilium-verdict (Cilium's policy engine as a test oracle) from this wrapper module.
# Idempotent: does nothing when the binary exists and reports the pinned Cilium version.
# Called by `make e2e-tools` and by tests/oracle (session fixture).
set -euo pipefail

PINNED=v1.20.2   # github.com/cilium/cilium, as in go.mod (the newest release proxy.golang.org serves)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/.tools/bin/cilium-verdict"

if [[ -x "$bin" ]] && "$bin" --version 2>/dev/null | grep -qF "github.com/cilium/cilium $PINNED"; then
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: go is not installed (Go >= 1.26 needed)" >&2; exit 1; }
mkdir -p "$root/.tools/bin"
cd "$here"
# go.mod says `go 1.26.0` (as Cilium v1.20.2's does): the installed Go 1.26 builds it; an older Go
# fetches that toolchain through GOTOOLCHAIN=auto.
go build -trimpath -o "$bin" .
"$bin" --version | grep -qF "github.com/cilium/cilium $PINNED" || {
  echo "build.sh: built $bin but --version does not report $PINNED" >&2; exit 1; }
