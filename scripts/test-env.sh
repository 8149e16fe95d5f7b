#!/usr/bin/env bash
# Provisions the real test environment the integration tests run against:
#   - a Docker engine (installs Debian's docker.io and starts dockerd when none answers),
#   - a Compose CLI (`docker compose` v2 or `docker-compose` v1),
#   - a registry (distribution v2 binary, not a container) on 127.0.0.1:5000,
#   - test images built from busybox-static (nothing is pulled from the internet) pushed there.
# Idempotent: every step checks first and says what it found or did, one line each.
# Image names and tags here must match test/support/test-env.ts.
set -euo pipefail

readonly REGISTRY_ADDR=127.0.0.1:5000
readonly REGISTRY_URL="http://$REGISTRY_ADDR"
readonly IMAGE_REPO_PREFIX=driftd
readonly CONTENT_LABEL=io.driftd.test.content
# "<repository> <tag>" relative to the registry; the build recipe is in write_image_recipe.
readonly TEST_IMAGES=("app 1.0" "app 1.1" "app 2.0" "app unhealthy" "worker 1.0")

if [[ $(id -u) -eq 0 ]]; then
  STATE_DIR=${DRIFTD_TEST_STATE_DIR:-/var/lib/driftd-test}
  LOG_DIR=/var/log
else
  STATE_DIR=${DRIFTD_TEST_STATE_DIR:-${TMPDIR:-/tmp}/driftd-test-$(id -u)}
  LOG_DIR=$STATE_DIR
fi
readonly REGISTRY_LOG=$LOG_DIR/driftd-test-registry.log
readonly BUILD_LOG=$STATE_DIR/build.log

say() { printf 'test-env: %s\n' "$*"; }
die() {
  printf 'test-env: ERROR: %s\n' "$*" >&2
  exit 1
}

is_debian_like() {
  [[ -r /etc/os-release ]] || return 1
  local id id_like
  id=$(. /etc/os-release && printf '%s' "${ID:-}")
  id_like=$(. /etc/os-release && printf '%s' "${ID_LIKE:-}")
  [[ " $id $id_like " == *" debian "* || " $id $id_like " == *" ubuntu "* ]] && command -v apt-get >/dev/null 2>&1
}

can_provision() { [[ $(id -u) -eq 0 ]] && is_debian_like; }

manual_install_hint() {
  cat >&2 <<'EOF'
test-env: this script installs packages only as root on Debian/Ubuntu. Install these yourself, then re-run it:
test-env:   - Docker Engine (Debian/Ubuntu: docker.io; elsewhere: docker-ce), running, with iptables
test-env:   - a Compose CLI: the `docker compose` plugin (docker-compose-plugin) or `docker-compose`
test-env:   - the distribution v2 registry binary (Debian/Ubuntu: docker-registry; elsewhere: `registry` from distribution/distribution)
test-env:   - a statically linked busybox (Debian/Ubuntu: busybox-static)
test-env:   - git (with git-http-backend)
EOF
}

# Installs the packages not installed yet; apt-get update only when one has no install candidate.
install_packages() {
  local pkg missing=() present=()
  for pkg in "$@"; do
    if dpkg -s "$pkg" >/dev/null 2>&1; then present+=("$pkg"); else missing+=("$pkg"); fi
  done
  if ((${#present[@]})); then say "packages already installed: ${present[*]}"; fi
  ((${#missing[@]})) || return 0
  if ! can_provision; then
    manual_install_hint
    die "missing: ${missing[*]}"
  fi
  local need_update=0
  for pkg in "${missing[@]}"; do
    [[ $(apt-cache policy "$pkg" 2>/dev/null) == *"Candidate: "[!\(]* ]] || need_update=1
  done
  if ((need_update)); then
    say "apt-get update (a package list is missing)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  fi
  say "installing: ${missing[*]}"
  # Keep maintainer scripts from starting services: on a systemd host, installing bookworm's
  # docker.io would start its Engine 20.10 on /var/run/docker.sock, where the modern engine goes.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# scripts/test-env.sh: no service starts while it installs packages\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    own_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  ((own_policy == 0)) || rm -f "$policy"
  ((rc == 0)) || die "apt-get install ${missing[*]} failed (exit $rc)"
}

# ---------------------------------------------------------------------------------------------
# Docker engine
#
# DRIFTD_TEST_ENGINE selects the pair (versions in scripts/test-matrix.env):
#   modern (default): Engine 26 + the Compose v2 plugin, on the default socket /var/run/docker.sock;
#   legacy: Engine 20.10 + Compose v1, a second dockerd on its own socket, data root and exec
#           root (LEGACY_DOCKER_HOST), so both engines can run side by side.

# shellcheck source=test-matrix.env
. "$(dirname "${BASH_SOURCE[0]}")/test-matrix.env"
readonly TEST_ENGINE=${DRIFTD_TEST_ENGINE:-modern}
readonly CACHE_DIR=$STATE_DIR/cache
readonly ENGINE_DIR=/opt/driftd-test/engine-modern
readonly COMPOSE_PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
readonly LEGACY_RUN_DIR LEGACY_DOCKER_HOST
readonly LEGACY_BRIDGE=driftd-legacy0
case $TEST_ENGINE in
  modern)
    DOCKER_SOCK=/var/run/docker.sock
    ;;
  legacy)
    DOCKER_SOCK=$LEGACY_RUN_DIR/docker.sock
    export DOCKER_HOST=$LEGACY_DOCKER_HOST
    ;;
  *) die "DRIFTD_TEST_ENGINE must be modern or legacy, not '$TEST_ENGINE'" ;;
esac
readonly DOCKER_SOCK
DOCKERD_LOG=$LOG_DIR/driftd-test-dockerd-$TEST_ENGINE.log

DOCKER=docker

engine_api_version() {
  node -e '
    const http = require("node:http");
    http.get({ socketPath: process.argv[1], path: "/version", timeout: 3000 }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => { try { console.log(JSON.parse(body).ApiVersion); } catch { process.exit(1); } });
    }).on("error", () => process.exit(1));
  ' "$DOCKER_SOCK"
}

# Picks a client that talks to the engine. /usr/local/bin/docker may be newer than Debian's
# 20.10 daemon: try it, then Debian's own client, then pin DOCKER_API_VERSION to the daemon's.
docker_answers() {
  local client api
  for client in docker /usr/bin/docker; do
    command -v "$client" >/dev/null 2>&1 || continue
    if "$client" info >/dev/null 2>&1; then
      DOCKER=$client
      return 0
    fi
  done
  [[ -S $DOCKER_SOCK ]] || return 1
  [[ -z ${DOCKER_HOST:-} || $DOCKER_HOST == "unix://$DOCKER_SOCK" ]] || return 1
  api=$(engine_api_version 2>/dev/null) || return 1
  for client in docker /usr/bin/docker; do
    command -v "$client" >/dev/null 2>&1 || continue
    if DOCKER_API_VERSION=$api "$client" info >/dev/null 2>&1; then
      export DOCKER_API_VERSION=$api
      DOCKER=$client
      say "docker client: pinned DOCKER_API_VERSION=$api (client is newer than the engine)"
      return 0
    fi
  done
  return 1
}

iptables_works() {
  command -v iptables >/dev/null 2>&1 && iptables -t nat -L -n >/dev/null 2>&1 && iptables -t filter -L -n >/dev/null 2>&1
}

# apt-get on a private trixie source list: bookworm's own lists and sources stay untouched.
apt_modern() { # <apt-get|apt-cache> <args…>
  local tool=$1
  shift
  "$tool" -o Dir::Etc::sourcelist="$CACHE_DIR/apt/sources.list" -o Dir::Etc::sourceparts=- \
    -o Dir::State::Lists="$CACHE_DIR/apt/lists" -o Dir::Cache="$CACHE_DIR/apt/cache" "$@"
}

# Downloads <package> whose version starts with <prefix> from the modern suite into $CACHE_DIR/debs
# (kept: a re-run downloads nothing) and prints the .deb's path.
modern_deb() { # <package> <version prefix>
  local pkg=$1 prefix=$2 deb version
  deb=$(find "$CACHE_DIR/debs" -maxdepth 1 -name "${pkg}_${prefix}*_amd64.deb" 2>/dev/null | LC_ALL=C sort | tail -n 1)
  if [[ -n $deb ]]; then
    printf '%s\n' "$deb"
    return 0
  fi
  mkdir -p "$CACHE_DIR/apt/lists/partial" "$CACHE_DIR/apt/cache/archives/partial" "$CACHE_DIR/debs"
  if [[ ! -s $CACHE_DIR/apt/sources.list ]]; then
    printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian %s main\n' \
      "$MODERN_SUITE" >"$CACHE_DIR/apt/sources.list"
  fi
  if [[ -z $(find "$CACHE_DIR/apt/lists" -maxdepth 1 -name "*${MODERN_SUITE}*Packages*" 2>/dev/null) ]]; then
    apt_modern apt-get update -qq >/dev/null 2>&1 || die "apt-get update of Debian $MODERN_SUITE's package list failed (a private list in $CACHE_DIR/apt)"
  fi
  version=$(apt_modern apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
  [[ $version == "$prefix"* ]] ||
    die "Debian $MODERN_SUITE offers $pkg ${version:-(none)}, not $prefix*; update scripts/test-matrix.env"
  (cd "$CACHE_DIR/debs" && apt_modern apt-get download -qq "$pkg=$version" >/dev/null 2>&1) ||
    die "apt-get download $pkg=$version from Debian $MODERN_SUITE failed"
  find "$CACHE_DIR/debs" -maxdepth 1 -name "${pkg}_${prefix}*_amd64.deb" | LC_ALL=C sort | tail -n 1
}

# dockerd + docker-proxy of the modern engine in $ENGINE_DIR, and the Compose v2 plugin where
# the Docker CLI looks for plugins. Both are static Go binaries that need only libc ≥ 2.34.
ensure_modern_binaries() {
  local deb tmp want
  want="$MODERN_ENGINE_PACKAGE $MODERN_ENGINE_VERSION"
  if [[ ! -x $ENGINE_DIR/dockerd || $(cat "$ENGINE_DIR/.package" 2>/dev/null) != "$want"* ]]; then
    can_provision || die "the modern test engine is missing in $ENGINE_DIR; run this script as root on Debian"
    deb=$(modern_deb "$MODERN_ENGINE_PACKAGE" "$MODERN_ENGINE_VERSION")
    tmp=$(mktemp -d)
    dpkg-deb -x "$deb" "$tmp"
    mkdir -p "$ENGINE_DIR"
    install -m 0755 "$tmp/usr/sbin/dockerd" "$tmp/usr/sbin/docker-proxy" "$ENGINE_DIR/"
    printf '%s %s\n' "$want" "$(basename "$deb")" >"$ENGINE_DIR/.package"
    rm -rf "$tmp"
    say "modern engine: unpacked $(basename "$deb") into $ENGINE_DIR"
  fi
  if ! docker compose version 2>/dev/null | grep -q "version v\?$MODERN_COMPOSE_VERSION"; then
    can_provision || die "the Compose v2 plugin $MODERN_COMPOSE_VERSION* is missing; run this script as root on Debian"
    deb=$(modern_deb "$MODERN_COMPOSE_PACKAGE" "$MODERN_COMPOSE_VERSION")
    tmp=$(mktemp -d)
    dpkg-deb -x "$deb" "$tmp"
    mkdir -p "$COMPOSE_PLUGIN_DIR"
    install -m 0755 "$tmp/usr/libexec/docker/cli-plugins/docker-compose" "$COMPOSE_PLUGIN_DIR/docker-compose"
    rm -rf "$tmp"
    say "compose v2: installed the plugin from $(basename "$deb") into $COMPOSE_PLUGIN_DIR"
  fi
}

start_dockerd() {
  local args=() bin pid i
  if [[ $TEST_ENGINE == modern ]]; then
    bin=$ENGINE_DIR/dockerd
    # 2,048 /24 networks (the default pools hold about 30): a host with a network per stack
    # needs hundreds. docker-proxy must be the engine's own version.
    args+=(--userland-proxy-path "$ENGINE_DIR/docker-proxy" --default-address-pool base=172.16.0.0/13,size=24)
    if iptables_works; then
      say "iptables: works, dockerd manages its rules"
    else
      args+=(--iptables=false)
      say "iptables: unusable here, starting dockerd with --iptables=false (published ports still work through docker-proxy)"
    fi
  else
    bin=/usr/sbin/dockerd
    mkdir -p "$LEGACY_RUN_DIR" "$STATE_DIR/legacy-engine"
    # A second engine beside the modern one: its own socket, roots, bridge and address pool, and
    # no iptables rules (the modern engine owns them; published ports go through docker-proxy).
    if ! ip link show "$LEGACY_BRIDGE" >/dev/null 2>&1; then
      ip link add "$LEGACY_BRIDGE" type bridge
      ip addr add 172.31.254.1/24 dev "$LEGACY_BRIDGE"
    fi
    ip link set "$LEGACY_BRIDGE" up
    args+=(--host "$LEGACY_DOCKER_HOST" --data-root "$STATE_DIR/legacy-engine" --exec-root "$LEGACY_RUN_DIR/exec"
      --pidfile "$LEGACY_RUN_DIR/docker.pid" --bridge "$LEGACY_BRIDGE" --iptables=false --ip-masq=false
      --default-address-pool base=172.24.0.0/14,size=24)
  fi
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  setsid nohup "$bin" ${args[@]+"${args[@]}"} >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$STATE_DIR/dockerd-$TEST_ENGINE.pid"
  for ((i = 0; i < 120; i++)); do
    if docker_answers; then
      say "dockerd ($TEST_ENGINE): started (pid $pid, log $DOCKERD_LOG)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "dockerd exited during start-up; see $DOCKERD_LOG: $(tail -n 3 "$DOCKERD_LOG" | tr '\n' ' ')"
    sleep 0.5
  done
  die "dockerd (pid $pid) did not answer 'docker info' within 60 s; see $DOCKERD_LOG"
}

# A running engine whose default bridge interface is gone (a `dockerd --bridge=none` started
# anywhere on the host deletes docker0) fails every container on the default network with
# "adding interface … to bridge docker0 failed". The engine only recreates it at start-up.
default_bridge_iface() { [[ $TEST_ENGINE == modern ]] && echo docker0 || echo "$LEGACY_BRIDGE"; }
default_bridge_present() { ip link show "$(default_bridge_iface)" >/dev/null 2>&1; }

restart_own_engine_for_bridge() {
  local iface pid i
  iface=$(default_bridge_iface)
  pid=$(cat "$STATE_DIR/dockerd-$TEST_ENGINE.pid" 2>/dev/null || true)
  if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null || [[ $(readlink "/proc/$pid/exe" 2>/dev/null) != *dockerd* ]]; then
    die "the running engine's default bridge $iface is missing and this script did not start that engine; restart dockerd (it recreates $iface) and re-run"
  fi
  say "docker engine ($TEST_ENGINE): its default bridge $iface is missing; restarting the engine this script started (pid $pid)"
  kill "$pid"
  for ((i = 0; i < 120; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -0 "$pid" 2>/dev/null && die "dockerd (pid $pid) did not stop within 60 s; see $DOCKERD_LOG"
  start_dockerd
  default_bridge_present || die "dockerd restarted but $iface is still missing; see $DOCKERD_LOG"
}

engine_summary() { $DOCKER version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}'; }

ensure_engine() {
  if [[ $TEST_ENGINE == modern ]] && can_provision; then
    # Debian's bookworm docker.io brings what both engines run on (containerd, runc, tini,
    # iptables) and the legacy engine itself; docker-compose is Compose v1 for the legacy pair.
    install_packages docker.io docker-compose docker-registry busybox-static git iptables
    ensure_modern_binaries
  fi
  if docker_answers; then
    local server
    server=$(engine_summary)
    say "docker engine ($TEST_ENGINE): already running ($server, client $(command -v "$DOCKER"))"
    local want=$MODERN_ENGINE_VERSION
    [[ $TEST_ENGINE == modern ]] || want=$LEGACY_ENGINE_VERSION
    if [[ $server != "server $want"* ]]; then
      local hint=''
      [[ $TEST_ENGINE != modern || -n ${DOCKER_HOST:-} ]] ||
        hint="; to test on Engine $want* here, stop that engine (systemd: systemctl disable --now docker.service docker.socket) and re-run"
      say "WARNING: this engine is not the $TEST_ENGINE pair's ($want*); the tests run against it as it is$hint"
    fi
    default_bridge_present && return 0
    restart_own_engine_for_bridge
    return 0
  fi
  if [[ $TEST_ENGINE == modern && -n ${DOCKER_HOST:-} && ${DOCKER_HOST} != "unix://$DOCKER_SOCK" ]]; then
    die "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST; start it, or unset DOCKER_HOST to let this script start a local one"
  fi
  if [[ -S $DOCKER_SOCK && ! -w $DOCKER_SOCK ]]; then
    die "$DOCKER_SOCK exists but user $(id -un) may not use it; add the user to the docker group and log in again, or run as root"
  fi
  if ! can_provision; then
    manual_install_hint
    die "no Docker engine answers at unix://$DOCKER_SOCK"
  fi
  [[ $TEST_ENGINE == modern ]] || install_packages docker.io docker-compose docker-registry busybox-static git iptables
  start_dockerd
  say "docker engine ($TEST_ENGINE): $(engine_summary), client $(command -v "$DOCKER")"
}

ensure_insecure_loopback_registry() {
  local cidrs
  cidrs=$($DOCKER info --format '{{json .RegistryConfig.InsecureRegistryCIDRs}}')
  [[ $cidrs == *'"127.0.0.0/8"'* ]] ||
    die "the engine does not treat 127.0.0.0/8 as an insecure (plain HTTP) registry range ($cidrs); add \"insecure-registries\": [\"$REGISTRY_ADDR\"] to /etc/docker/daemon.json and restart dockerd"
  say "docker engine: plain-HTTP registries on 127.0.0.0/8 are allowed (engine default)"
}

# ---------------------------------------------------------------------------------------------
# Other tools

ensure_tool() { # <description> <package> <check command...>
  local what=$1 pkg=$2
  shift 2
  if "$@" >/dev/null 2>&1; then
    say "$what: found"
    return 0
  fi
  can_provision || {
    manual_install_hint
    die "$what: not found"
  }
  install_packages "$pkg"
  "$@" >/dev/null 2>&1 || die "$what: still not usable after installing $pkg"
  say "$what: installed ($pkg)"
}

compose_cli_works() {
  if [[ $TEST_ENGINE == modern ]]; then $DOCKER compose version; else docker-compose version; fi
}
compose_summary() {
  if [[ $TEST_ENGINE == modern ]]; then $DOCKER compose version --short; else docker-compose version --short; fi
}
git_http_backend_works() { [[ -x "$(git --exec-path)/git-http-backend" ]]; }
# The status page's browser tests drive Debian's chromium through playwright-core (no browser download).
chromium_works() { chromium --version; }
prometheus_parser_works() { /usr/bin/python3 -c 'import prometheus_client.parser'; }

find_static_busybox() {
  local b
  for b in /bin/busybox /usr/bin/busybox; do
    [[ -x $b ]] || continue
    # ldd exits 1 on a static binary: read its output, not its status.
    if ! command -v ldd >/dev/null 2>&1 || [[ $(ldd "$b" 2>&1 || true) =~ not\ a\ dynamic\ executable|statically\ linked ]]; then
      printf '%s\n' "$b"
      return 0
    fi
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# Registry

# 0: a distribution v2 registry answers; 1: nothing listens; 2: something else answers.
registry_probe() {
  node -e '
    fetch(process.argv[1] + "/v2/", { signal: AbortSignal.timeout(3000) }).then(
      (r) => process.exit(r.status === 200 && r.headers.get("docker-distribution-api-version") === "registry/2.0" ? 0 : 2),
      () => process.exit(1),
    );
  ' "$REGISTRY_URL"
}

write_registry_config() {
  local file=$1 storage=$2 tmp
  tmp=$(mktemp)
  cat >"$tmp" <<EOF
# Written by scripts/test-env.sh: driftd's test registry. No auth; loopback only.
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $REGISTRY_ADDR
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  if cmp -s "$tmp" "$file"; then rm -f "$tmp"; else mv "$tmp" "$file"; fi
}

ensure_registry() {
  local rc=0 bin dir=$STATE_DIR/registry pid i
  registry_probe || rc=$?
  case $rc in
    0)
      say "registry: already answering on $REGISTRY_URL/v2/"
      return 0
      ;;
    2) die "something other than a Docker registry answers on $REGISTRY_ADDR; stop it and re-run" ;;
  esac
  bin=$(command -v docker-registry || command -v registry || true)
  if [[ -z $bin ]]; then
    can_provision || {
      manual_install_hint
      die "no registry binary (docker-registry or registry) found"
    }
    install_packages docker-registry
    bin=$(command -v docker-registry) || die "docker-registry is installed but not on PATH"
  fi
  mkdir -p "$dir/storage"
  write_registry_config "$dir/config.yml" "$dir/storage"
  mkdir -p "$(dirname "$REGISTRY_LOG")"
  setsid nohup "$bin" serve "$dir/config.yml" >>"$REGISTRY_LOG" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$STATE_DIR/registry.pid"
  for ((i = 0; i < 60; i++)); do
    if registry_probe; then
      say "registry: started $bin on $REGISTRY_ADDR (pid $pid, config $dir/config.yml, storage $dir/storage, log $REGISTRY_LOG)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "the registry exited during start-up; see $REGISTRY_LOG: $(tail -n 3 "$REGISTRY_LOG" | tr '\n' ' ')"
    sleep 0.25
  done
  die "the registry (pid $pid) did not answer on $REGISTRY_URL/v2/ within 15 s; see $REGISTRY_LOG"
}

# For each "<repo>:<tag>" argument prints "<digest> <content label>" as the registry serves it,
# or "missing -". The registry is asked once per run, in one process, to keep re-runs fast.
registry_state() {
  node --input-type=module -e '
    const [base, label, ...refs] = process.argv.slice(1);
    const accept = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";
    for (const ref of refs) {
      const i = ref.lastIndexOf(":");
      const [repo, tag] = [ref.slice(0, i), ref.slice(i + 1)];
      let line = "missing -";
      try {
        const m = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { headers: { accept } });
        if (m.ok) {
          const digest = m.headers.get("docker-content-digest");
          const manifest = await m.json();
          const c = await fetch(`${base}/v2/${repo}/blobs/${manifest.config.digest}`);
          const config = await c.json();
          line = `${digest} ${config.config?.Labels?.[label] ?? "-"}`;
        }
      } catch {}
      console.log(line);
    }
  ' "$REGISTRY_URL" "$CONTENT_LABEL" "$@"
}

# ---------------------------------------------------------------------------------------------
# Test images

# One build context serves every image: base/ (busybox, its applets, /etc, /tmp), written once
# and only when something must be built, plus files-<repo>-<tag>/ and <repo>-<tag>.Dockerfile.
readonly BASE_PASSWD='root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false'
readonly BASE_GROUP='root:x:0:
nogroup:x:65534:'

write_base() { # <context dir> <busybox>
  local dir=$1/base busybox=$2
  [[ -d $dir ]] && return 0
  mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp"
  chmod 1777 "$dir/tmp"
  cp "$busybox" "$dir/bin/busybox"
  (
    cd "$dir/bin"
    local applet
    for applet in $(./busybox --list); do
      [[ $applet == busybox ]] || ln -s busybox "$applet"
    done
  )
  printf '%s\n' "$BASE_PASSWD" >"$dir/etc/passwd"
  printf '%s\n' "$BASE_GROUP" >"$dir/etc/group"
}

# Writes what defines the image besides base/: its own files and its Dockerfile.
write_image_recipe() { # <context dir> <repo> <tag>
  local ctx=$1 repo=$2 tag=$3
  local files="files-$repo-$tag" dockerfile="$ctx/$repo-$tag.Dockerfile"
  local common="FROM scratch
COPY base/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY $files/ /"
  case "$repo:$tag" in
    app:*)
      mkdir -p "$ctx/$files/www"
      printf 'driftd app %s\n' "$tag" >"$ctx/$files/www/index.html"
      # app:unhealthy has the same health check, but nothing listens on 8080.
      local cmd='["httpd", "-f", "-p", "8080", "-h", "/www"]'
      [[ $tag != unhealthy ]] || cmd='["sleep", "86400"]'
      # busybox as PID 1 ignores SIGTERM; SIGKILL keeps `compose down` from waiting 10 s.
      cat >"$dockerfile" <<EOF
$common
EXPOSE 8080
HEALTHCHECK --interval=2s --timeout=2s --retries=3 CMD ["wget", "-q", "-O-", "http://127.0.0.1:8080/"]
STOPSIGNAL SIGKILL
CMD $cmd
EOF
      ;;
    worker:*)
      mkdir -p "$ctx/$files/etc"
      printf 'driftd worker %s\n' "$tag" >"$ctx/$files/etc/driftd-worker-version"
      cat >"$dockerfile" <<EOF
$common
CMD ["sh", "-c", "trap 'exit 0' TERM INT; cat /etc/driftd-worker-version; while :; do sleep 1 & wait \$!; done"]
EOF
      ;;
    *) die "no recipe for test image $repo:$tag" ;;
  esac
}

recipe_hash() { # <context dir> <repo> <tag> <busybox sha256>
  local ctx=$1 repo=$2 tag=$3
  {
    printf 'busybox %s\n%s\n%s\n' "$4" "$BASE_PASSWD" "$BASE_GROUP"
    cat "$ctx/$repo-$tag.Dockerfile"
    (cd "$ctx/files-$repo-$tag" && find . -type f | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | cut -c1-32
}

# For each ref prints "<content label> <repo digests…>", or "missing"; one engine call for all.
local_image_states() {
  local ref line
  local -A found=()
  while read -r line; do
    for ref in "$@"; do
      if [[ $line == *"\"$ref\""* ]]; then found[$ref]=${line#* }; fi
    done
  done < <($DOCKER image inspect --format "{{json .RepoTags}} {{index .Config.Labels \"$CONTENT_LABEL\"}} {{join .RepoDigests \" \"}}" "$@" 2>/dev/null || true)
  for ref in "$@"; do printf '%s\n' "${found[$ref]:-missing}"; done
}

ensure_images() {
  local busybox busybox_sha spec repo tag ref i ctx hash reg_digest reg_label local_label local_digests
  busybox=$(find_static_busybox) || true
  [[ -n $busybox ]] || {
    can_provision || {
      manual_install_hint
      die "no statically linked busybox found"
    }
    install_packages busybox-static
    busybox=$(find_static_busybox) || die "busybox-static is installed but no static busybox was found"
  }
  busybox_sha=$(sha256sum "$busybox" | cut -d' ' -f1)

  local names=() refs=()
  for spec in "${TEST_IMAGES[@]}"; do
    read -r repo tag <<<"$spec"
    names+=("$IMAGE_REPO_PREFIX/$repo:$tag")
    refs+=("$REGISTRY_ADDR/$IMAGE_REPO_PREFIX/$repo:$tag")
  done
  local registry_lines=() local_lines=()
  mapfile -t registry_lines < <(registry_state "${names[@]}")
  ((${#registry_lines[@]} == ${#refs[@]})) || die "could not read the test images' state from $REGISTRY_URL"
  mapfile -t local_lines < <(local_image_states "${refs[@]}")

  ctx=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: $ctx is local
  trap "rm -rf '$ctx'" EXIT
  : >"$BUILD_LOG"
  for i in "${!TEST_IMAGES[@]}"; do
    read -r repo tag <<<"${TEST_IMAGES[$i]}"
    ref=${refs[$i]}
    write_image_recipe "$ctx" "$repo" "$tag"
    hash=$(recipe_hash "$ctx" "$repo" "$tag" "$busybox_sha")
    read -r reg_digest reg_label <<<"${registry_lines[$i]}"
    read -r local_label local_digests <<<"${local_lines[$i]}"
    [[ ${local_lines[$i]} != missing ]] || local_label=""

    if [[ $reg_digest != missing && $reg_label == "$hash" ]]; then
      if [[ $local_label == "$hash" && " $local_digests " == *" ${ref%:*}@$reg_digest "* ]]; then
        say "image $ref: up to date ($reg_digest)"
      else
        $DOCKER pull "$ref" >>"$BUILD_LOG" 2>&1 || die "pulling $ref from the test registry failed; see $BUILD_LOG"
        say "image $ref: pulled from the test registry, the local copy was missing or stale ($reg_digest)"
      fi
      continue
    fi

    local action=pushed
    if [[ $local_label != "$hash" ]]; then
      write_base "$ctx" "$busybox"
      printf 'LABEL %s="%s"\n' "$CONTENT_LABEL" "$hash" >>"$ctx/$repo-$tag.Dockerfile"
      # The legacy builder needs neither buildx nor a base image; FROM scratch pulls nothing.
      DOCKER_BUILDKIT=0 $DOCKER build --tag "$ref" --file "$ctx/$repo-$tag.Dockerfile" "$ctx" >>"$BUILD_LOG" 2>&1 ||
        die "building $ref failed; see $BUILD_LOG"
      action="built and pushed"
    fi
    local out digest
    out=$($DOCKER push "$ref" 2>&1) || {
      printf '%s\n' "$out" >>"$BUILD_LOG"
      die "pushing $ref to $REGISTRY_URL failed: $(printf '%s' "$out" | tail -n 1)"
    }
    printf '%s\n' "$out" >>"$BUILD_LOG"
    digest=$(printf '%s\n' "$out" | grep -o 'digest: sha256:[0-9a-f]*' | tail -n 1 | cut -d' ' -f2)
    say "image $ref: $action ($digest)"
  done
}

# ---------------------------------------------------------------------------------------------

main() {
  mkdir -p "$STATE_DIR"
  # npm test may run in several checkouts at once on one machine: one provisioning at a time.
  # The daemons started below must not inherit fd 9, or they would hold the lock forever.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STATE_DIR/provision.lock"
    flock -w 600 9 || die "another scripts/test-env.sh has held $STATE_DIR/provision.lock for 10 minutes"
  fi
  ensure_engine
  ensure_insecure_loopback_registry
  if [[ $TEST_ENGINE == modern ]]; then
    compose_cli_works >/dev/null 2>&1 || die "the Compose v2 plugin does not answer \`docker compose version\`"
  else
    ensure_tool "compose v1 (docker-compose)" docker-compose compose_cli_works
  fi
  ensure_tool "git http-backend" git git_http_backend_works
  ensure_tool "chromium (status page browser tests)" chromium chromium_works
  if [[ $TEST_ENGINE == modern ]]; then
    # The agent image's local base (scripts/build-base-image.sh, run by the image test).
    ensure_tool "mmdebstrap (the agent image's local base)" mmdebstrap mmdebstrap --version
    ensure_tool "strip (binutils)" binutils strip --version
  fi
  # The metrics tests read GET /metrics with Prometheus' own parser (test/support/prometheus.ts).
  ensure_tool "Prometheus exposition parser (python3 prometheus_client)" python3-prometheus-client prometheus_parser_works
  ensure_registry
  ensure_images
  say "ready ($TEST_ENGINE): engine $(engine_summary), compose $(compose_summary), registry $REGISTRY_ADDR, images under $REGISTRY_ADDR/$IMAGE_REPO_PREFIX/ (see test/support/test-env.ts)"
  [[ $TEST_ENGINE == modern ]] || say "legacy engine: bash scripts/test.sh legacy runs the tests on it (DOCKER_HOST=$LEGACY_DOCKER_HOST DRIFTD_COMPOSE_COMMAND=docker-compose)"
}

main "$@"
