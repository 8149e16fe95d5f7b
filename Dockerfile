# driftd agent image. Build: docker build -t driftd:dev .
# Runs with the host's Docker socket mounted and its data dir as a volume (see deploy/agent.compose.yaml).

FROM node:20-bookworm-slim AS build
WORKDIR /src
# better-sqlite3 compiles from source.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY scripts ./scripts
RUN npm ci && npm run build && npm prune --omit=dev

FROM docker:27.3-cli AS dockercli
FROM docker/compose-bin:v2.29.7 AS composebin

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates tini && rm -rf /var/lib/apt/lists/*
COPY --from=dockercli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=composebin /docker-compose /usr/libexec/docker/cli-plugins/docker-compose
WORKDIR /opt/driftd
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
RUN ln -s /opt/driftd/bin/driftd.js /usr/local/bin/driftd
ENV DRIFTD_DATA_DIR=/var/lib/driftd
VOLUME ["/var/lib/driftd"]
ENTRYPOINT ["/usr/bin/tini", "--", "driftd"]
CMD ["agent"]
