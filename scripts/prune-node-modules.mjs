// Removes from a production node_modules every package that the bundle (dist/bundle/, from
// scripts/bundle.ts) already carries: only the packages it leaves external and what they load
// stay. The agent image's build stage runs it (plain JavaScript: no tsx at that point), which
// takes about 13 MB (openpgp, zod, isomorphic-git, prom-client…) out of the image.
//
//   node scripts/prune-node-modules.mjs [appDir]   # default: the current directory
//
// Resolution is Node's own: a dependency is looked up in the node_modules of the package that
// needs it, then of each folder above it. Prints one line: what it kept and removed.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const appDir = path.resolve(process.argv[2] ?? '.');
const modulesDir = path.join(appDir, 'node_modules');
const externalsFile = path.join(appDir, 'dist', 'bundle', 'externals.json');
if (!existsSync(externalsFile)) throw new Error(`${externalsFile} is missing: build with scripts/bundle.ts first`);
/** @type {string[]} */
const externals = JSON.parse(readFileSync(externalsFile, 'utf8'));

/** The folder of package `name` as Node resolves it from folder `from`, or undefined. */
function resolvePackage(from, name) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === appDir || !dir.startsWith(appDir)) return undefined;
  }
}

const keep = new Set();
const present = externals.filter((name) => resolvePackage(appDir, name) !== undefined);
const queue = present.map((name) => resolvePackage(appDir, name));
while (queue.length > 0) {
  const dir = queue.pop();
  if (keep.has(dir)) continue;
  keep.add(dir);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const names = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies });
  for (const name of names) {
    const found = resolvePackage(dir, name);
    if (found !== undefined) queue.push(found);
  }
}

/** Every package folder under one node_modules folder (scoped ones too), nested ones included. */
function* packagesIn(nodeModules) {
  if (!existsSync(nodeModules)) return;
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dirs = entry.name.startsWith('@')
      ? readdirSync(path.join(nodeModules, entry.name), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(nodeModules, entry.name, e.name))
      : [path.join(nodeModules, entry.name)];
    for (const dir of dirs) {
      yield dir;
      yield* packagesIn(path.join(dir, 'node_modules'));
    }
  }
}

let removed = 0;
for (const dir of [...packagesIn(modulesDir)]) {
  if (keep.has(dir) || !existsSync(dir)) continue;
  rmSync(dir, { recursive: true, force: true });
  removed += 1;
}
rmSync(path.join(modulesDir, '.bin'), { recursive: true, force: true });
process.stdout.write(`prune-node-modules: kept ${keep.size} packages (the bundle's externals ${present.join(', ')} and their dependencies), removed ${removed}\n`);
