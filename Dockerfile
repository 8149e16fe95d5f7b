# driftd agent image. Build: docker build -t driftd:0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
# Runs with the host's Docker socket and its data dir at the same path inside and out (see
# deploy/agent.compose.yaml and "Running the agent" in README.md).
#
# The base images are build arguments. The defaults come from Docker Hub; without Docker Hub,
# scripts/build-image.sh builds equivalent local bases from Debian packages
# (scripts/build-base-image.sh) and builds this Dockerfile on them (docs/image.md).
ARG NODE_BUILD_IMAGE=node:20-bookworm-slim
ARG NODE_IMAGE=node:20-bookworm-slim
ARG DOCKER_CLI_IMAGE=docker:27.3-cli
ARG COMPOSE_IMAGE=docker/compose-bin:v2.29.7

FROM ${NODE_BUILD_IMAGE} AS build
WORKDIR /src
# A context staged by scripts/build-image.sh also holds prebuilt/: dist/bundle and the production
# node_modules built on the host with the very Node.js binary of the local base (so the compiled
# better-sqlite3 matches its ABI), and the local base has no compiler. The repository's own context
# never carries prebuilt/ (.dockerignore), so the default build compiles here. The [t] glob lets
# COPY match nothing.
COPY package.json package-lock.json tsconfig.json tsconfig.build.json prebuil[t] ./
COPY src ./src
COPY bin ./bin
COPY scripts ./scripts
# `npm ci` runs the prepare script (tsc + bundle); better-sqlite3 compiles from source. Then only
# the packages the bundle leaves external stay (scripts/prune-node-modules.mjs); the compiler's
# objects are not needed at run time.
RUN if [ -f dist/bundle/main.js ] && [ -d node_modules ]; then \
      echo "build: the context's prebuilt dist/bundle and production node_modules"; \
    else \
      { command -v python3 && command -v make && command -v g++ || \
        { apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*; }; } && \
      npm ci && test -f dist/bundle/main.js && npm prune --omit=dev; \
    fi && \
    node scripts/prune-node-modules.mjs && \
    node -e "new (require('better-sqlite3'))(':memory:').close()" && \
    rm -rf node_modules/better-sqlite3/build/Release/obj* node_modules/better-sqlite3/build/Release/*.a \
      node_modules/better-sqlite3/build/Release/test_extension.node node_modules/better-sqlite3/build/deps \
      node_modules/better-sqlite3/deps node_modules/better-sqlite3/src && \
    # Type declarations, TypeScript sources, source maps and READMEs are never loaded at run time
    # (about 9 MB, mostly zod's src/ and .d.ts); licence files stay.
    find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' \
      -o \( -name '*.md' ! -iname 'licen[cs]e*' \) \) -delete

FROM ${DOCKER_CLI_IMAGE} AS dockercli
FROM ${COMPOSE_IMAGE} AS composebin

FROM ${NODE_IMAGE}
# tini as PID 1 forwards SIGTERM to driftd and reaps the Compose processes it starts.
RUN command -v tini || \
    { apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*; }
# driftd runs as an unprivileged user; the Docker socket's group is added at run time (group_add).
RUN groupadd --system --gid 10001 driftd && \
    useradd --system --uid 10001 --gid driftd --home-dir /home/driftd --create-home --shell /usr/sbin/nologin driftd && \
    install -d -m 0700 -o driftd -g driftd /var/lib/driftd
COPY --from=dockercli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=composebin /docker-compose /usr/local/libexec/docker/cli-plugins/docker-compose
WORKDIR /opt/driftd
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/bundle ./dist/bundle
COPY --from=build /src/bin ./bin
RUN ln -s /opt/driftd/bin/driftd.js /usr/local/bin/driftd
# --max-semi-space-size=2: V8's young generation stays at 2 × 2 MB instead of growing to 2 × 16 MB
# during the bundle's import and the first reconcile; the agent's RSS drops ~14 MB at no measurable
# cycle CPU (docs/performance.md, "Agent memory"). Same flag as deploy/driftd.service and the bench.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=2 \
    DRIFTD_DATA_DIR=/var/lib/driftd \
    DRIFTD_HEALTH_URL=http://127.0.0.1:9797/healthz
USER driftd
STOPSIGNAL SIGTERM
# GET /healthz of the agent's HTTP API (http.listen); set DRIFTD_HEALTH_URL when it listens elsewhere.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch(process.env.DRIFTD_HEALTH_URL,{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Declared here, not at the top of the stage: a new revision or date only rebuilds the label layer.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="driftd" \
      org.opencontainers.image.description="GitOps drift-and-sync agent for Docker Compose hosts" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
ENTRYPOINT ["/usr/bin/tini", "--", "driftd"]
CMD ["agent"]
