#!/usr/bin/env bash
# Builds the local base images the agent image's Dockerfile can build FROM, from Debian packages,
# without Docker Hub (nothing is pulled by docker; mmdebstrap and apt-get read deb.debian.org):
#
#   driftd-base/node:<key>    Debian <suite> (mmdebstrap --variant=essential, merged /usr) + tini +
#                             passwd, without what a container never runs, + the Node.js 20+ binary
#                             that runs this script, stripped, at /usr/local/bin/node as in the
#                             official node image. No npm and no compiler: the build stage on this
#                             base uses the dist/ and production node_modules/ that
#                             scripts/build-image.sh builds on this host with that same binary.
#   driftd-base/docker:<key>  only /usr/local/bin/docker (Debian trixie's docker-cli) and /docker-compose
#                             (Debian trixie's docker-compose, the Compose v2 plugin): the two paths the
#                             docker:*-cli and docker/compose-bin images have
#
# <key> is a hash of everything that goes in (this script, the suite, the mirror, the Node.js binary,
# the two .debs), so a re-run with the same inputs finds the images and does nothing, and a changed
# input builds new ones. Downloaded .debs stay in the cache, so a rebuild downloads nothing.
#
# Prints the build arguments for `docker build` on stdout, one per line (NODE_IMAGE=…); messages go
# to stderr. Needs root (mmdebstrap's root mode, chroot), mmdebstrap, strip (binutils), and a Docker
# engine.
#
# Environment: DRIFTD_BASE_SUITE (bookworm), DRIFTD_BASE_MIRROR (http://deb.debian.org/debian),
# DRIFTD_BASE_NODE (the `node` on PATH), DRIFTD_BASE_CACHE (/var/lib/driftd-test/cache/base-image).
set -euo pipefail

readonly SUITE=${DRIFTD_BASE_SUITE:-bookworm}
readonly MIRROR=${DRIFTD_BASE_MIRROR:-http://deb.debian.org/debian}
readonly CACHE=${DRIFTD_BASE_CACHE:-/var/lib/driftd-test/cache/base-image}
readonly SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test-matrix.env
. "$SCRIPT_DIR/test-matrix.env"
# The Docker CLI and Compose come from the suite the test environment's engine comes from.
readonly TOOLS_SUITE=$MODERN_SUITE

say() { printf 'build-base-image: %s\n' "$*" >&2; }
die() {
  printf 'build-base-image: ERROR: %s\n' "$*" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "run as root (mmdebstrap's root mode and chroot need it)"
command -v docker >/dev/null || die "no docker CLI on PATH"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install mmdebstrap"
command -v strip >/dev/null || die "strip is missing: apt-get install binutils"

node_bin=$(readlink -f "${DRIFTD_BASE_NODE:-$(command -v node)}") || die "no node on PATH; set DRIFTD_BASE_NODE"
node_version=$("$node_bin" --version)
[[ $node_version =~ ^v(2[0-9]|[3-9][0-9])\. ]] || die "$node_bin is Node.js $node_version; the agent needs 20 or later"

# apt-get on a private source list for the tools suite: the host's own lists stay untouched.
tools_apt() { # <apt-get|apt-cache> <args…>
  local tool=$1
  shift
  "$tool" -o Dir::Etc::sourcelist="$CACHE/apt/sources.list" -o Dir::Etc::sourceparts=- \
    -o Dir::State::Lists="$CACHE/apt/lists" -o Dir::Cache="$CACHE/apt/cache" "$@"
}

# Prints the path of <package>'s .deb from the tools suite, downloading it once into the cache.
tools_deb() { # <package>
  local pkg=$1 deb version
  deb=$(find "$CACHE/debs" -maxdepth 1 -name "${pkg}_*_amd64.deb" 2>/dev/null | LC_ALL=C sort | tail -n 1)
  if [[ -z $deb ]]; then
    mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" "$CACHE/debs"
    printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$MIRROR" "$TOOLS_SUITE" >"$CACHE/apt/sources.list"
    if [[ -z $(find "$CACHE/apt/lists" -maxdepth 1 -name "*${TOOLS_SUITE}*Packages*" 2>/dev/null) ]]; then
      tools_apt apt-get update -qq >/dev/null 2>&1 || die "apt-get update of Debian $TOOLS_SUITE's package list failed"
    fi
    version=$(tools_apt apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
    [[ -n $version && $version != "(none)" ]] || die "Debian $TOOLS_SUITE has no $pkg"
    (cd "$CACHE/debs" && tools_apt apt-get download -qq "$pkg=$version" >/dev/null 2>&1) || die "apt-get download $pkg=$version failed"
    deb=$(find "$CACHE/debs" -maxdepth 1 -name "${pkg}_*_amd64.deb" | LC_ALL=C sort | tail -n 1)
    say "downloaded $(basename "$deb")"
  fi
  printf '%s\n' "$deb"
}

mkdir -p "$CACHE"
cli_deb=$(tools_deb docker-cli)
compose_deb=$(tools_deb docker-compose)

key=$(
  {
    sha256sum "${BASH_SOURCE[0]}" "$node_bin" "$cli_deb" "$compose_deb" | cut -d' ' -f1
    printf '%s\n' "$SUITE" "$MIRROR" "$node_version"
  } | sha256sum | cut -c1-16
)
readonly NODE_IMAGE=driftd-base/node:$key DOCKER_IMAGE=driftd-base/docker:$key

print_args() {
  printf '%s\n' "NODE_BUILD_IMAGE=$NODE_IMAGE" "NODE_IMAGE=$NODE_IMAGE" "DOCKER_CLI_IMAGE=$DOCKER_IMAGE" "COMPOSE_IMAGE=$DOCKER_IMAGE"
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }
if have_image "$NODE_IMAGE" && have_image "$DOCKER_IMAGE"; then
  say "base images $key: already built"
  print_args
  exit 0
fi

# One build at a time per cache (npm test starts one in the background; the image test may ask too).
exec 9>"$CACHE/.lock"
flock 9
if have_image "$NODE_IMAGE" && have_image "$DOCKER_IMAGE"; then
  say "base images $key: built meanwhile"
  print_args
  exit 0
fi

work=$(mktemp -d "$CACHE/work.XXXXXX")
cleanup() {
  # mmdebstrap unmounts what it mounted; this only catches an interrupted run.
  local m
  for m in proc sys dev/pts dev; do mountpoint -q "$work/root/$m" 2>/dev/null && umount -l "$work/root/$m"; done
  rm -rf "$work"
}
trap cleanup EXIT

# Packages of the essential set that a container running Node.js, tini, the Docker CLI and Compose
# never uses: the package manager's crypto, perl (only debconf's maintainer scripts run it), the
# systemd and udev client libraries. Images are rebuilt, never upgraded in place.
readonly NOT_AT_RUN_TIME=(apt libapt-pkg6.0 gpgv debian-archive-keyring libgnutls30 libp11-kit0 libtasn1-6 libnettle8
  libhogweed6 libidn2-0 libunistring2 libffi8 e2fsprogs libext2fs2 libss2 logsave tzdata perl-base libxxhash0
  libseccomp2 libgcrypt20 libgpg-error0 libsystemd0 liblz4-1 libudev1 usrmerge)

# --- driftd-base/node ---------------------------------------------------------------------------
# mmdebstrap rather than debootstrap: the essential set (no apt) with merged /usr set up by a hook
# (no usrmerge, which pulls in perl) and no docs, man pages or translations unpacked is about half
# of a debootstrap minbase and installs in a fraction of the time. The .debs are kept in the cache
# (sync-in/sync-out) so a rebuild after an input changed downloads nothing.
mkdir -p "$CACHE/archives"
say "mmdebstrap --variant=essential $SUITE from $MIRROR"
mmdebstrap --variant=essential --include=tini,passwd,libstdc++6 \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --skip=essential/unlink \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
  --setup-hook="sync-in $CACHE/archives /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives $CACHE/archives" \
  "$SUITE" "$work/root" "$MIRROR" >"$work/mmdebstrap.log" 2>&1 ||
  die "mmdebstrap failed: $(tail -n 5 "$work/mmdebstrap.log" | tr '\n' ' ')"
root=$work/root
mapfile -t purge < <(chroot "$root" dpkg-query -W -f '${Package}\n' "${NOT_AT_RUN_TIME[@]}" 2>/dev/null || true)
if ((${#purge[@]})); then
  chroot "$root" dpkg --purge --force-remove-essential --force-depends "${purge[@]}" >"$work/purge.log" 2>&1 ||
    die "dpkg --purge in the runtime root failed: $(tail -n 5 "$work/purge.log" | tr '\n' ' ')"
fi
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
# Symbols only: native addons link against the dynamic symbol table, which strip keeps.
strip "$root/usr/local/bin/node"
# glibc's iconv modules (8 MB): Node.js converts with its own ICU, and nothing else here converts
# charsets. tini-static: the entrypoint is the dynamic tini.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
  "$root"/var/log/*.log "$root"/etc/resolv.conf "$root"/usr/lib/*-linux-gnu/gconv "$root"/usr/bin/tini-static
tar -C "$root" --numeric-owner -c . |
  docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["/bin/bash"]' \
    -m "driftd base ($SUITE essential, Node.js $node_version), scripts/build-base-image.sh" - "$NODE_IMAGE" >/dev/null
say "imported $NODE_IMAGE ($(docker image inspect --format '{{.Size}}' "$NODE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"

# --- driftd-base/docker: the Docker CLI and the Compose v2 plugin, nothing else -----------------
tools=$work/tools
mkdir -p "$tools/deb" "$tools/root/usr/local/bin"
dpkg-deb -x "$cli_deb" "$tools/deb"
dpkg-deb -x "$compose_deb" "$tools/deb"
install -m 0755 "$tools/deb/usr/bin/docker" "$tools/root/usr/local/bin/docker"
install -m 0755 "$tools/deb/usr/libexec/docker/cli-plugins/docker-compose" "$tools/root/docker-compose"
tar -C "$tools/root" --numeric-owner -c . | docker import -m "Docker CLI $(basename "$cli_deb") + Compose $(basename "$compose_deb")" - "$DOCKER_IMAGE" >/dev/null
say "imported $DOCKER_IMAGE"

print_args
