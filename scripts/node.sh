#!/usr/bin/env bash
# Runs Node >= 22 with the given arguments.
#
# libp2p 3 needs Node >= 22 (Promise.withResolvers) and Quloud runs its TypeScript
# sources directly (type stripping, Node >= 22.18). A machine whose `node` is new
# enough pays nothing; otherwise Node 24 comes from the npm registry's `node` package
# once, into .tools/ inside the checkout, and is reused from then on.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pinned="24.21.0"
tools="$root/.tools/node-$pinned"

node_is_new_enough() {
  # type stripping is on by default from 22.18 / 23.6. `--version` returns before V8
  # starts (~5 ms against ~30 ms for `-e`): every quloud command pays this check.
  local version major minor
  version="$("$1" --version 2>/dev/null)" || return 1
  [[ "$version" =~ ^v([0-9]+)\.([0-9]+)\. ]] || return 1
  major="${BASH_REMATCH[1]}"; minor="${BASH_REMATCH[2]}"
  (( major > 22 || (major == 22 && minor >= 18) ))
}

pick_node() {
  if [ -n "${QULOUD_NODE:-}" ]; then echo "$QULOUD_NODE"; return; fi
  if command -v node >/dev/null 2>&1 && node_is_new_enough node; then command -v node; return; fi
  if [ -x "$tools/node_modules/node/bin/node" ]; then echo "$tools/node_modules/node/bin/node"; return; fi
  echo "quloud: node $(node --version 2>/dev/null || echo 'not found') is too old; installing Node $pinned from the npm registry into .tools/ (once)" >&2
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node@$pinned" >&2
  echo "$tools/node_modules/node/bin/node"
}

node_bin="$(pick_node)"
if ! node_is_new_enough "$node_bin"; then
  echo "quloud: $node_bin is not Node >= 22.18" >&2
  exit 78
fi
exec "$node_bin" "$@"
