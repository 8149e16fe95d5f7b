import { describe, expect, it } from 'vitest';
import { brief, compose, lint } from './helpers.js';
import type { ValidateConfig } from '../../../src/validate/policy.js';

const FILE = 'stacks/app/compose.yaml';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const app = (...lines: string[]) => compose('services:', '  app:', ...lines);

interface Case {
  name: string;
  compose: string;
  want: string[];
  /** Findings with this config switch off (default: none of `want` that it governs). */
  off?: { config: Partial<ValidateConfig>; want: string[] };
}

const CASES: Case[] = [
  { name: 'a version tag', compose: app('    image: nginx:1.27.3'), want: [] },
  { name: 'a digest', compose: app(`    image: nginx@${DIGEST}`), want: [] },
  { name: 'a tag and a digest', compose: app(`    image: nginx:latest@${DIGEST}`), want: [] },
  { name: ':latest', compose: app('    image: nginx:latest'), want: [`${FILE}:3 image-latest`], off: { config: { latest: false }, want: [] } },
  { name: 'no tag', compose: app('    image: ghcr.io/acme/app'), want: [`${FILE}:3 image-latest`], off: { config: { latest: false }, want: [] } },
  { name: 'no tag, registry with a port', compose: app('    image: 127.0.0.1:5000/app'), want: [`${FILE}:3 image-latest`] },
  { name: 'a tag from interpolation', compose: app('    image: nginx:${TAG:-latest}'), want: [`${FILE}:3 image-latest`] },
  {
    name: 'an image Docker refuses is an error whatever the config',
    compose: app('    image: NGINX:1'),
    want: [`${FILE}:3 invalid-image`],
    off: { config: { latest: false }, want: [`${FILE}:3 invalid-image`] },
  },
  { name: 'privileged', compose: app('    image: nginx:1.27.3', '    privileged: true'), want: [`${FILE}:4 privileged`], off: { config: { privileged: false }, want: [] } },
  { name: 'privileged from a variable', compose: app('    image: nginx:1.27.3', '    privileged: ${PRIV:-true}'), want: [`${FILE}:4 privileged`] },
  { name: 'privileged: false', compose: app('    image: nginx:1.27.3', '    privileged: false'), want: [] },
  { name: 'network_mode: host', compose: app('    image: nginx:1.27.3', '    network_mode: host'), want: [`${FILE}:4 host-network`], off: { config: { hostNetwork: false }, want: [] } },
  { name: 'network_mode: none', compose: app('    image: nginx:1.27.3', '    network_mode: none'), want: [] },
  {
    name: 'an absolute host path',
    compose: app('    image: nginx:1.27.3', '    volumes:', '      - ./conf:/conf:ro', '      - /srv/data:/data'),
    want: [`${FILE}:6 host-bind-mount`],
    off: { config: { hostBindMounts: false }, want: [] },
  },
  { name: 'a home-relative path', compose: app('    image: nginx:1.27.3', '    volumes: ["~/cache:/cache"]'), want: [`${FILE}:4 host-bind-mount`] },
  {
    name: 'the long syntax',
    compose: app('    image: nginx:1.27.3', '    volumes:', '      - type: bind', '        source: /etc/ssl/certs', '        target: /certs'),
    want: [`${FILE}:5 host-bind-mount`],
  },
  { name: 'the stack folder itself and files in it', compose: app('    image: nginx:1.27.3', '    volumes: [".:/app", "./conf/x.conf:/x.conf"]'), want: [] },
  { name: 'a named volume', compose: compose('services:', '  app:', '    image: nginx:1.27.3', '    volumes: ["data:/data"]', 'volumes:', '  data: {}'), want: [] },
  {
    name: 'a path that climbs out of the stack is refused by the loader, whatever the config',
    compose: app('    image: nginx:1.27.3', '    volumes:', '      - ../other:/other'),
    want: [`${FILE}:5 unsafe-path`],
    off: { config: { hostBindMounts: false }, want: [`${FILE}:5 unsafe-path`] },
  },
];

describe('policy findings', () => {
  it.each(CASES)('$name', async ({ compose: text, want, off }) => {
    const result = await lint({ [FILE]: text });
    expect(result.findings.map(brief)).toEqual(want);
    for (const f of result.findings) expect(f.severity).toBe(['invalid-image', 'unsafe-path'].includes(f.kind) ? 'error' : 'warning');
    if (off) expect((await lint({ [FILE]: text }, off.config)).findings.map(brief)).toEqual(off.want);
  });

  it('locates a value set by the override file in the override file', async () => {
    const result = await lint({
      [FILE]: app('    image: nginx:1.27.3', '    volumes: ["./a:/a"]'),
      'stacks/app/compose.override.yaml': app('    image: nginx:latest', '    privileged: true', '    volumes: ["/srv:/srv"]'),
    });
    expect(result.findings.map(brief)).toEqual([
      'stacks/app/compose.override.yaml:3 image-latest',
      'stacks/app/compose.override.yaml:4 privileged',
      'stacks/app/compose.override.yaml:5 host-bind-mount',
    ]);
  });
});
