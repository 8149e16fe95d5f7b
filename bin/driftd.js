#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// dist/bundle/ is tsc's dist/ joined by scripts/bundle.ts: a few files to load instead of hundreds.
const entry = new URL('../dist/bundle/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('driftd is not built yet: run `npm run build` (or `npm ci`) in the driftd checkout.\n');
  process.exit(1);
}
// A reader that stops early (`driftd drift-check --json | head`) is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
