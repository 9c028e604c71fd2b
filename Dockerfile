# Quloud node image: `docker run` starts the daemon; the entrypoint is bin/quloud,
# the same one the tests drive.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# production dependencies only; the postinstall step finds Node 24 already present
COPY scripts ./scripts
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    QULOUD_DATA_DIR=/data
COPY --from=build /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY src ./src
COPY circuits ./circuits
RUN ln -s /app/bin/quloud /usr/local/bin/quloud \
    && mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# libp2p TCP; forward it on the NAS/router for peers outside the LAN
EXPOSE 4101
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["quloud", "status"]
ENTRYPOINT ["quloud"]
CMD ["start"]
