#!/usr/bin/env bash
# The container's entrypoint: `quloud ARGS`, after the two checks a NAS user trips on.
#
# - A bind-mounted /data that uid 1000 cannot write (a folder made by root) is named
#   with its owner, mode and the chown that fixes it, instead of init's bare exit 3.
# - `start` before `init`: under `restart: unless-stopped` Docker restarts a container
#   whatever its exit code, so exiting would loop. `start` waits instead, saying once
#   what it waits for, and goes on as soon as the folder is fixed or `quloud init` has
#   run (in this container with `docker exec -it NAME quloud init`, or in another).
#   Every other verb fails at once with exit 3, as outside a container.
set -euo pipefail

data="${QULOUD_DATA_DIR:-/data}"
# node.json is written last by init (src/adapters/data-dir/data-dir-layout.ts, FILES.marker)
marker="$data/node.json"

problem() {
  if [ ! -d "$data" ]; then
    echo "$data does not exist; mount a volume there (-v quloud-data:$data)"
  elif [ ! -w "$data" ] || [ ! -x "$data" ]; then
    echo "$data is not writable by uid $(id -u) (it belongs to uid $(stat -c %u "$data"), gid $(stat -c %g "$data"), mode $(stat -c %a "$data")): a folder bind-mounted there must belong to uid 1000; run \`chown -R 1000:1000 FOLDER\` on the host, or mount a named volume (-v quloud-data:$data)"
  elif [ "${1:-}" = start ] && [ ! -e "$marker" ]; then
    echo "$data holds no Quloud node yet: run \`docker exec -it CONTAINER quloud init\` (or \`docker run --rm -it -v VOLUME:$data IMAGE init\`)"
  fi
}

verb="${1:-start}"
found="$(problem "$verb")"
if [ -n "$found" ] && [ "$verb" != start ]; then
  case "$verb" in
    # these never touch the data directory
    --help|-h|help|--version|-V|completion|man) ;;
    *) echo "quloud: $found" >&2; exit 3 ;;
  esac
fi
if [ -n "$found" ]; then
  echo "quloud: waiting: $found" >&2
  # PID 1 has no default signal actions: without this trap `docker stop` would wait
  # its whole timeout and then kill
  trap 'exit 0' TERM INT
  while [ -n "$(problem start)" ]; do
    sleep 2 &
    wait $! || true
  done
  echo "quloud: $data is ready; starting" >&2
fi
exec quloud "$@"
