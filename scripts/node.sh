#!/usr/bin/env bash
# Runs Node >= 22 with the given arguments.
#
# libp2p 3 needs Node >= 22 (Promise.withResolvers) and Quloud runs its TypeScript
# sources directly (type stripping, Node >= 22.18). A machine whose `node` is new
# enough runs it; otherwise Node 24 comes from the npm registry's `node` package once,
# into .tools/ inside the checkout, and is the one run from then on.
set -euo pipefail

here="${BASH_SOURCE[0]%/*}"
[[ "${BASH_SOURCE[0]}" == */* ]] || here=.
[[ "$here" == /* ]] || here="$PWD/$here"
# npm's --prefix reads the path as text: a linked directory, "." or ".." is resolved first
if [[ -L "$here" || "$here/" == */./* || "$here/" == */../* ]]; then here="$(cd "$here" && pwd -P)"; fi
root="${here%/*}"
pinned="24.21.0"
tools="$root/.tools/node-$pinned"

node_is_new_enough() {
  # type stripping is on by default from 22.18 / 23.6. `--version` returns before V8
  # starts (~6 ms against ~30 ms for `-e`).
  local version major minor
  version="$("$1" --version 2>/dev/null)" || return 1
  [[ "$version" =~ ^v([0-9]+)\.([0-9]+)\. ]] || return 1
  major="${BASH_REMATCH[1]}"; minor="${BASH_REMATCH[2]}"
  (( major > 22 || (major == 22 && minor >= 18) ))
}

# The Node to run, in `node_bin`. Every quloud command pays for this choice (it was
# ~23 ms of a ~90 ms `quloud status`), so it starts no process where it need not: the
# pinned Node in .tools/ is known to be new enough (installed here, when the machine's
# was not); any other is asked its version once.
pick_node() {
  if [ -n "${QULOUD_NODE:-}" ]; then
    node_bin="$QULOUD_NODE"
  elif [ -x "$tools/node_modules/node/bin/node" ]; then
    node_bin="$tools/node_modules/node/bin/node"
    return
  elif node_bin="$(command -v node)" && node_is_new_enough "$node_bin"; then
    return
  else
    echo "quloud: node $(node --version 2>/dev/null || echo 'not found') is too old; installing Node $pinned from the npm registry into .tools/ (once)" >&2
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node@$pinned" >&2
    node_bin="$tools/node_modules/node/bin/node"
  fi
  if ! node_is_new_enough "$node_bin"; then
    echo "quloud: $node_bin is not Node >= 22.18" >&2
    exit 78
  fi
}

pick_node
exec "$node_bin" "$@"
