# Quloud node image. The entrypoint runs bin/quloud, the same command the tests drive;
# with no arguments the container runs `quloud start`. README, "Running on a NAS
# (container)", is what scripts/container-smoke.sh does in CI.
#   docker build -t quloud .
#   docker run --rm -it -v quloud-data:/data quloud init      (once: note the phrase)
#   docker run -d --name quloud --network host -v quloud-data:/data quloud
#
# The two bases are build arguments so that a machine that cannot pull them (CI here)
# can build from stand-ins; both must be the same Debian release, because the runtime
# stage takes Node's binary from the first one and links it against the second's libc.
ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# @ronomon/reed-solomon (erasure coding) is a native addon that node-gyp builds here,
# against the image's own Node headers (no download); the runtime stage has no compiler
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
COPY scripts ./scripts
# production dependencies only; the postinstall check finds Node 24 already here. What
# nothing loads at run time goes: source maps, type declarations, docs, and wasmcurves'
# 35 MB of test vectors (the smoke test proves and verifies with what is left)
RUN npm ci --omit=dev --no-audit --no-fund \
    && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) -delete \
    && rm -rf node_modules/wasmcurves/test

# Node's headers, npm and a compiler stay in the build stage: the runtime is Debian's
# slim image with one binary added, about 150 MB less than the Node image underneath
FROM ${RUNTIME_IMAGE} AS runtime
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# uid 1000, as in the Node images: a folder bind-mounted on /data must belong to it
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
WORKDIR /app
# the compile cache keeps Node's type-stripped sources, so every `quloud` call starts in
# about the time of `node -e 0`
ENV NODE_ENV=production \
    QULOUD_DATA_DIR=/data \
    NODE_COMPILE_CACHE=/var/cache/quloud/node-compile-cache
COPY --from=build /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY src ./src
COPY circuits ./circuits
COPY protocol-spec ./protocol-spec
# /data holds the node's secrets and /restore is where `get` and `receive` write by
# default (the working directory of `docker exec`): both the node user's, 0700; a new
# named volume mounted there takes this owner and mode
RUN ln -s /app/bin/quloud /usr/local/bin/quloud \
    && mkdir -p /data /restore /var/cache/quloud/node-compile-cache \
    && chown node:node /data /restore && chown -R node:node /var/cache/quloud \
    && chmod 700 /data /restore /var/cache/quloud
USER node
# fill the cache at build time, so the first calls cost what later ones do
RUN quloud --help > /dev/null
VOLUME ["/data"]
WORKDIR /restore
# libp2p over TCP: forward it on the router so peers outside the LAN can reach the node
EXPOSE 4101/tcp
# one authenticated GET of /v1/health by a dependency-free script: ~60 ms of CPU, where
# the full CLI took 1.2 s and flipped busy containers to "unhealthy"
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["node", "/app/scripts/container-health.mjs"]
# `start` waits, with one message, until /data is writable and holds a node, instead of
# exiting and being restarted in a loop by `restart: unless-stopped`
ENTRYPOINT ["/app/scripts/container-entrypoint.sh"]
CMD ["start"]
