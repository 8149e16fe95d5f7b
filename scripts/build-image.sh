#!/usr/bin/env bash
# Builds the agent image without Docker Hub, from this checkout (docs/image.md):
#   1. the local bases from Debian packages (scripts/build-base-image.sh; cached by a hash of their
#      inputs);
#   2. a staged build context: the files the Dockerfile copies, plus prebuilt/ — driftd's bundle
#      (tsc + scripts/bundle.ts, as `npm run build`) and its production node_modules (`npm ci
#      --omit=dev` from the lockfile, from npm's cache where it can) with the better-sqlite3 addon
#      this checkout's `npm ci` compiled, which runs on the base because the base carries the same
#      Node.js binary;
#   3. `docker build` of the repository's Dockerfile on that context with the bases' build args.
#
#   bash scripts/build-image.sh [docker build options…]     # e.g. -q, --no-cache
#
# Tags the image $DRIFTD_IMAGE (default driftd:<package.json version>) and labels it with this
# checkout's revision. Needs root (the bases), Docker, and `npm ci` done in this checkout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'build-image: %s\n' "$*" >&2; }
die() {
  printf 'build-image: ERROR: %s\n' "$*" >&2
  exit 1
}

addon=node_modules/better-sqlite3/build/Release/better_sqlite3.node
[[ -f $addon && -f node_modules/typescript/bin/tsc ]] || die "run \`npm ci\` in $(pwd) first (the build needs its TypeScript and compiled better-sqlite3)"
node_bin=$(readlink -f "${DRIFTD_BASE_NODE:-$(command -v node)}")
version=$("$node_bin" -p 'require("./package.json").version')
image=${DRIFTD_IMAGE:-driftd:$version}

mapfile -t base_args < <(DRIFTD_BASE_NODE=$node_bin bash scripts/build-base-image.sh)
((${#base_args[@]})) || die "scripts/build-base-image.sh printed no build arguments"

ctx=$(mktemp -d "${TMPDIR:-/tmp}/driftd-image-context.XXXXXX")
# tsc's output goes under dist/ (ignored by Git and Docker): the bundler resolves the packages it
# inlines from there, through this checkout's node_modules.
mkdir -p dist
out=$(mktemp -d "$PWD/dist/.image-build.XXXXXX")
trap 'rm -rf "$ctx" "$out"' EXIT
cp -a package.json package-lock.json tsconfig.json tsconfig.build.json src bin scripts "$ctx/"
mkdir -p "$ctx/prebuilt/dist"

# The addon was compiled by this checkout's npm ci for one Node.js ABI: the base's binary must load it.
"$node_bin" -e "new (require('better-sqlite3'))(':memory:').close()" ||
  die "$addon does not load in $node_bin ($("$node_bin" --version)); run \`npm rebuild better-sqlite3\` with it"

say "building driftd (tsc, bundle)"
"$node_bin" node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$out" >&2 || die "tsc -p tsconfig.build.json failed"
"$node_bin" --import tsx scripts/bundle.ts "$out" >&2 || die "scripts/bundle.ts failed"
mv "$out/bundle" "$ctx/prebuilt/dist/bundle"

say "production node_modules (npm ci --omit=dev)"
cp package.json package-lock.json "$ctx/prebuilt/"
# Scripts stay off: better-sqlite3's would download a prebuilt addon from GitHub or compile one;
# the one compiled here is copied instead (same version: both come from this lockfile).
(cd "$ctx/prebuilt" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >&2) || die "npm ci --omit=dev failed"
rm "$ctx/prebuilt/package.json" "$ctx/prebuilt/package-lock.json"
want=$("$node_bin" -p 'require("./node_modules/better-sqlite3/package.json").version')
got=$(cd "$ctx/prebuilt" && "$node_bin" -p 'require("./node_modules/better-sqlite3/package.json").version')
[[ $want == "$got" ]] || die "better-sqlite3 $got in the lockfile, $want in node_modules: run \`npm ci\` first"
install -D -m 0755 "$addon" "$ctx/prebuilt/$addon"

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
say "docker build -t $image"
docker build -f "$PWD/Dockerfile" "${base_args[@]/#/--build-arg=}" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  --build-arg "CREATED=$(date -u +%FT%TZ)" -t "$image" "$@" "$ctx" >&2
say "built $image ($(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
printf '%s\n' "$image"
