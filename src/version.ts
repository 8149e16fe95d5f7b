import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The driftd package.json above this module: dist/version.js and dist/bundle/chunks/*.js sit at different depths. */
function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'driftd' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: keep going up
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`driftd's package.json was not found above ${fileURLToPath(import.meta.url)}; reinstall driftd`);
    dir = parent;
  }
}

/** driftd's version, from package.json (one source of truth for --version, reports and exports). */
export const VERSION: string = packageVersion();
