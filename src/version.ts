import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** driftd's version, from package.json (one source of truth for --version, reports and exports). */
export const VERSION: string = pkg.version;
