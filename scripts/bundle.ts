/**
 * Bundles the compiled CLI (`<out>/cli/main.js`, from tsc) into `<out>/bundle/`: one module for
 * the entry and one chunk per lazily loaded command, so a `driftd` process reads a handful of
 * files instead of resolving and compiling hundreds (about half of a short command's run time).
 * tsc stays the compiler of record; this only joins its output. Packages that find files of
 * their own at run time (native addons, worker-thread transports, forked daemons) stay external
 * and load from node_modules as usual.
 *
 * Usage: node --import tsx scripts/bundle.ts [outDir]   (default: dist)
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const outDir = path.resolve(process.argv[2] ?? 'dist');
const bundleDir = path.join(outDir, 'bundle');
rmSync(bundleDir, { recursive: true, force: true });

// CommonJS dependencies inside an ES module bundle still call require() and read __dirname.
const banner = [
  "import { createRequire as __driftdCreateRequire } from 'node:module';",
  "import { fileURLToPath as __driftdFileURLToPath } from 'node:url';",
  "import { dirname as __driftdDirname } from 'node:path';",
  'const require = __driftdCreateRequire(import.meta.url);',
  'const __filename = __driftdFileURLToPath(import.meta.url);',
  'const __dirname = __driftdDirname(__filename);',
].join(' ');

// Loaded from node_modules at run time; externals.json lists the packages for
// scripts/prune-node-modules.mjs, which drops every other package from the agent image.
const externals = ['better-sqlite3', 'pino', 'pino-pretty', 'node-cron', 'ajv', 'cpu-features', '*.node'];

await build({
  entryPoints: { main: path.join(outDir, 'cli', 'main.js'), agent: path.join(outDir, 'agent', 'embed.js') },
  outdir: bundleDir,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: externals,
  banner: { js: banner },
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
writeFileSync(path.join(bundleDir, 'externals.json'), `${JSON.stringify(externals.filter((name) => !name.includes('*')))}\n`);
