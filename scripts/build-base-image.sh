#!/usr/bin/env bash
# Builds the local base images the agent image's Dockerfile can build FROM, from Debian packages,
# without Docker Hub (nothing is pulled by docker; debootstrap and apt-get read deb.debian.org):
#
#   driftd-base/node:<key>    Debian <suite> minbase + tini + Node.js (the Node.js 20+ binary that runs
#                             this script, stripped, at /usr/local/bin/node as in the official node image)
#   driftd-base/build:<key>   the same + npm, Node.js headers, python3, make, g++ (compiles better-sqlite3)
#   driftd-base/docker:<key>  only /usr/local/bin/docker (Debian trixie's docker-cli) and /docker-compose
#                             (Debian trixie's docker-compose, the Compose v2 plugin): the two paths the
#                             docker:*-cli and docker/compose-bin images have
#
# <key> is a hash of everything that goes in (this script, the suite, the Node.js binary, npm, the
# headers, the two .debs), so a re-run with the same inputs finds the images and does nothing, and a
# changed input builds new ones. The debootstrap tree is kept as a tarball per suite in the cache.
#
# Prints the build arguments for `docker build` on stdout, one per line (NODE_IMAGE=…); messages go
# to stderr. Needs root (debootstrap, chroot), debootstrap, and a Docker engine.
#
# Environment: DRIFTD_BASE_SUITE (bookworm), DRIFTD_BASE_MIRROR (http://deb.debian.org/debian),
# DRIFTD_BASE_NODE (the `node` on PATH), DRIFTD_BASE_CACHE (/var/lib/driftd-test/cache/base-image),
# DRIFTD_BASE_CA_BUNDLE (/etc/ssl/certs/ca-certificates.crt: the CAs npm trusts in the build base).
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

[[ $(id -u) -eq 0 ]] || die "run as root (debootstrap and chroot need it)"
command -v docker >/dev/null || die "no docker CLI on PATH"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"

node_bin=$(readlink -f "${DRIFTD_BASE_NODE:-$(command -v node)}") || die "no node on PATH; set DRIFTD_BASE_NODE"
node_version=$("$node_bin" --version)
[[ $node_version =~ ^v(2[0-9]|[3-9][0-9])\. ]] || die "$node_bin is Node.js $node_version; the agent needs 20 or later"
node_prefix=$(cd "$(dirname "$node_bin")/.." && pwd)
npm_dir=$node_prefix/lib/node_modules/npm
headers_dir=$node_prefix/include/node
[[ -f $npm_dir/package.json ]] || die "npm not found at $npm_dir (next to $node_bin)"
[[ -f $headers_dir/node_api.h ]] || die "Node.js headers not found at $headers_dir (node-gyp needs them to compile better-sqlite3 offline)"
npm_version=$("$node_bin" -p "require('$npm_dir/package.json').version")
readonly HOST_CA_BUNDLE=${DRIFTD_BASE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

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
    if [[ -s $HOST_CA_BUNDLE ]]; then sha256sum "$HOST_CA_BUNDLE" | cut -d' ' -f1; fi
    printf '%s\n' "$SUITE" "$MIRROR" "$node_version" "$npm_version"
    (cd "$headers_dir" && find . -type f | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | cut -c1-16
)
readonly NODE_IMAGE=driftd-base/node:$key BUILD_IMAGE=driftd-base/build:$key DOCKER_IMAGE=driftd-base/docker:$key

print_args() {
  printf '%s\n' "NODE_BUILD_IMAGE=$BUILD_IMAGE" "NODE_IMAGE=$NODE_IMAGE" "DOCKER_CLI_IMAGE=$DOCKER_IMAGE" "COMPOSE_IMAGE=$DOCKER_IMAGE"
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }
if have_image "$NODE_IMAGE" && have_image "$BUILD_IMAGE" && have_image "$DOCKER_IMAGE"; then
  say "base images $key: already built"
  print_args
  exit 0
fi

# One build at a time per cache (the test and `npm test` may both ask).
exec 9>"$CACHE/.lock"
flock 9
if have_image "$NODE_IMAGE" && have_image "$BUILD_IMAGE" && have_image "$DOCKER_IMAGE"; then
  print_args
  exit 0
fi

work=$(mktemp -d "$CACHE/work.XXXXXX")
cleanup() {
  for m in "$work"/*/proc; do mountpoint -q "$m" 2>/dev/null && umount "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT

# The debootstrap tree, cached per suite and mirror (a re-bootstrap takes minutes).
minbase=$CACHE/$SUITE-minbase-$(printf '%s' "$MIRROR" | sha256sum | cut -c1-8).tar
if [[ ! -s $minbase ]]; then
  say "debootstrap --variant=minbase $SUITE from $MIRROR (once; kept in $minbase)"
  debootstrap --variant=minbase --include=tini "$SUITE" "$work/minbase" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
    die "debootstrap failed: $(tail -n 5 "$work/debootstrap.log" | tr '\n' ' ')"
  rm -rf "$work/minbase/var/cache/apt/archives/"*.deb "$work/minbase/var/lib/apt/lists/"*
  tar -C "$work/minbase" --numeric-owner -cf "$minbase.tmp" .
  mv "$minbase.tmp" "$minbase"
  rm -rf "$work/minbase"
fi

unpack() { # <dir>
  mkdir -p "$1"
  tar -C "$1" --numeric-owner -xf "$minbase"
}

# Trims what a container never reads: apt's package lists and caches, docs, man pages, locales.
trim() { # <dir>
  rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb \
    "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/info/* "$1"/var/log/*.log "$1"/etc/resolv.conf
  find "$1/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
}

import() { # <dir> <image>
  tar -C "$1" --numeric-owner -c . |
    docker import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["/bin/bash"]' \
      -m "driftd base ($SUITE minbase, Node.js $node_version), scripts/build-base-image.sh" - "$2" >/dev/null
  say "imported $2 ($(docker image inspect --format '{{.Size}}' "$2" | awk '{printf "%.0f MB", $1/1e6}'))"
}

# Packages of minbase that a container running Node.js, tini, the Docker CLI and Compose never
# uses: the package manager and its crypto (images are rebuilt, never upgraded in place), perl,
# e2fsprogs, tzdata (Node.js carries its own time zone data). About 37 MB of the 128 MB tree.
readonly NOT_AT_RUN_TIME=(apt libapt-pkg6.0 gpgv debian-archive-keyring libgnutls30 libp11-kit0 libtasn1-6 libnettle8
  libhogweed6 libidn2-0 libunistring2 libffi8 e2fsprogs libext2fs2 libss2 logsave tzdata perl-base libxxhash0
  libseccomp2 libgcrypt20 libgpg-error0 libsystemd0 liblz4-1 libudev1)

# --- driftd-base/node: minbase + tini (in the bootstrap) + the stripped Node.js binary ---------
node_root=$work/node
unpack "$node_root"
chroot "$node_root" dpkg --purge --force-remove-essential --force-depends "${NOT_AT_RUN_TIME[@]}" >"$work/purge.log" 2>&1 ||
  die "dpkg --purge in the runtime root failed: $(tail -n 5 "$work/purge.log" | tr '\n' ' ')"
install -m 0755 "$node_bin" "$node_root/usr/local/bin/node"
# Symbols only: native addons link against the dynamic symbol table, which strip keeps.
strip "$node_root/usr/local/bin/node"
trim "$node_root"
import "$node_root" "$NODE_IMAGE"

# --- driftd-base/build: + python3 make g++ (bookworm's), npm and the headers for node-gyp ------
build_root=$work/build
unpack "$build_root"
cp /etc/resolv.conf "$build_root/etc/resolv.conf"
mount -t proc proc "$build_root/proc"
chroot "$build_root" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
  'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++' >"$work/build-apt.log" 2>&1 ||
  die "apt-get install python3 make g++ in the build root failed: $(tail -n 5 "$work/build-apt.log" | tr '\n' ' ')"
umount "$build_root/proc"
install -m 0755 "$node_root/usr/local/bin/node" "$build_root/usr/local/bin/node"
mkdir -p "$build_root/usr/local/lib/node_modules" "$build_root/usr/local/include"
cp -a "$npm_dir" "$build_root/usr/local/lib/node_modules/npm"
cp -a "$headers_dir" "$build_root/usr/local/include/node"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$build_root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$build_root/usr/local/bin/npx"
# node-gyp would otherwise download the headers from nodejs.org. npm trusts what this host trusts
# (a TLS-intercepting egress proxy's CA, say): the build base only, never the runtime image.
printf 'nodedir=/usr/local\nfund=false\naudit=false\nupdate-notifier=false\n' >"$build_root/usr/local/etc/npmrc"
if [[ -s $HOST_CA_BUNDLE ]]; then
  install -D -m 0644 "$HOST_CA_BUNDLE" "$build_root/usr/local/etc/driftd-build-ca.crt"
  printf 'cafile=/usr/local/etc/driftd-build-ca.crt\n' >>"$build_root/usr/local/etc/npmrc"
fi
trim "$build_root"
import "$build_root" "$BUILD_IMAGE"

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
