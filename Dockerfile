# Quloud node image. The entrypoint is bin/quloud, the same command the tests drive;
# with no arguments the container runs `quloud start`.
#   docker build -t quloud .
#   docker run --rm -it -v quloud-data:/data quloud init      (once: note the phrase)
#   docker run -d --name quloud --network host -v quloud-data:/data quloud

FROM node:24-bookworm-slim AS build
WORKDIR /app
# @ronomon/reed-solomon (erasure coding) is a native addon that node-gyp builds here,
# against the image's own Node headers (no download); the runtime stage needs none of it
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
COPY scripts ./scripts
# production dependencies only; the postinstall check finds Node 24 already here
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
WORKDIR /app
# the compile cache keeps Node's type-stripped sources: every `quloud` call, the health
# check included, then starts in about the time of `node -e 0`
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
RUN ln -s /app/bin/quloud /usr/local/bin/quloud \
    && mkdir -p /data /var/cache/quloud/node-compile-cache \
    && chown node:node /data && chown -R node:node /var/cache/quloud && chmod 700 /var/cache/quloud
USER node
# fill the cache at build time, so the first health checks cost what later ones do
RUN quloud --help > /dev/null
VOLUME ["/data"]
# libp2p over TCP: forward it on the router so peers outside the LAN can reach the node
EXPOSE 4101/tcp
# `quloud status` asks the daemon over its control API and loads nothing else (no libp2p,
# snarkjs or LevelDB): ~0.1 s and ~65 MB, so a busy NAS does not flap to "unhealthy"
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["quloud", "status"]
ENTRYPOINT ["quloud"]
CMD ["start"]
