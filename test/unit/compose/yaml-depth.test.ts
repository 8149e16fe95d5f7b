import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadDesiredState } from '../../../src/compose/load-desired-state.js';
import { loadStack } from '../../../src/compose/load-stack.js';
import { parseYamlFile } from '../../../src/compose/yaml-file.js';
import { readConfigFile } from '../../../src/config/resolve.js';
import { DriftdError, type LoadError } from '../../../src/errors/index.js';
import { MAX_YAML_DEPTH, yamlDepthExcess } from '../../../src/util/yaml-depth.js';
import { cleanupTrees, makeTree } from './fixture.js';

afterAll(cleanupTrees);

const deepFlow = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;

describe('yamlDepthExcess', () => {
  it('passes real compose files', () => {
    const text = [
      'x-common: &common {restart: always, labels: {team: a}}',
      'services:',
      '  web:',
      '    <<: *common',
      '    image: "nginx:1.27" # [not a list',
      "    command: ['sh', '-c', 'echo \"[[[\" it''s {fine}']",
      '    healthcheck:',
      '      test: [CMD, curl, -f, "http://localhost/{x}"]',
      '    volumes:',
      '      - ./conf:/etc/nginx/conf.d:ro',
      '      - type: bind',
      '        source: ./html',
      '        target: /usr/share/nginx/html',
      '    environment:',
      '      - A=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
      '  worker:',
      '    entrypoint: |',
      '      [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
      '      {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{',
      '    labels:',
      '      note: >-',
      '        [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
      '      quoted: "multi',
      '        line [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
      '        \\" still [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["',
      "      single: 'it''s [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['",
      '# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
      '',
    ].join('\n');
    expect(yamlDepthExcess(text)).toBeUndefined();
    expect(() => parseYamlFile(text, 'compose.yaml')).not.toThrow();
  });

  it.each([
    ['flow sequences', (n: number) => deepFlow(n)],
    ['flow mappings', (n: number) => `${'{a: '.repeat(n)}1${'}'.repeat(n)}`],
    ['block mappings', (n: number) => Array.from({ length: n }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n') + ' 1\n'],
    ['compact block sequences', (n: number) => `${'- '.repeat(n)}x\n`],
    ['block sequences on their own lines', (n: number) => Array.from({ length: n }, (_, i) => `${'  '.repeat(i)}-`).join('\n') + ' x\n'],
    ['a flow sequence under block mappings', (n: number) => `a:\n  b:\n    c: ${deepFlow(n - 3)}\n`],
  ])('%s: refused just over the limit, accepted at it', (_name, make) => {
    expect(yamlDepthExcess(make(MAX_YAML_DEPTH + 1))).toBeDefined();
    expect(yamlDepthExcess(make(MAX_YAML_DEPTH - 4))).toBeUndefined();
  });

  it('names the line where the limit is crossed', () => {
    expect(yamlDepthExcess(`services:\n  a:\n    image: x\n    x-deep: ${deepFlow(100)}\n`)).toEqual({ line: 4, limit: MAX_YAML_DEPTH });
    expect(yamlDepthExcess(`a: "two\nlines"\n# c\n\nb: ${deepFlow(100)}`)?.line).toBe(5);
  });

  it('agrees with the parser on documents the yaml package writes, block and flow, up to the limit', () => {
    let seed = 7;
    const rand = (k: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % k;
    };
    const nest = (depth: number): unknown => {
      if (depth === 0) return rand(2) ? 'leaf [x] {y} #z' : 42;
      const inner = nest(depth - 1);
      return rand(2) ? [inner, 'it\'s "q"'] : { [`k${depth}`]: inner, other: 'a: b' };
    };
    for (let i = 0; i < 80; i += 1) {
      const depth = 1 + rand(MAX_YAML_DEPTH - 8);
      const value = nest(depth);
      const text = stringify(value, { collectionStyle: rand(3) === 0 ? 'flow' : 'any' });
      expect(yamlDepthExcess(text), text).toBeUndefined();
      expect(yamlDepthExcess(stringify(nest(MAX_YAML_DEPTH + 2)))).toBeDefined();
    }
  }, 30_000);

  it('takes milliseconds on a 300,000-deep flow sequence', () => {
    const text = deepFlow(300_000);
    const started = performance.now();
    expect(yamlDepthExcess(text)).toEqual({ line: 1, limit: MAX_YAML_DEPTH });
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('deep YAML is refused before parsing, everywhere YAML is read', () => {
  const deep = `services:\n  a:\n    image: x\n    x-deep: ${deepFlow(300_000)}\n`;

  it('in a compose file: YamlError with file and line, fast, and a concurrent timer fires meanwhile', async () => {
    const root = makeTree({ 'stacks/s/compose.yaml': deep });
    let timerAt: number | undefined;
    const started = performance.now();
    const timer = setTimeout(() => (timerAt = performance.now() - started), 10);
    let error: unknown;
    // Keep the loop busy with the load while the timer waits; it must not wait for seconds.
    await loadStack({ root, name: 's' }).catch((e: unknown) => (error = e));
    await new Promise((r) => setTimeout(r, 20));
    clearTimeout(timer);
    expect(error).toBeInstanceOf(DriftdError);
    const e = error as LoadError;
    expect(e.code).toBe('YamlError');
    expect(e.message).toBe(`stacks/s/compose.yaml:4: YAML nested deeper than ${MAX_YAML_DEPTH} levels; refused before parsing`);
    expect(e.data).toMatchObject({ file: 'stacks/s/compose.yaml', line: 4 });
    // Generous bounds for a busy 2-core machine; on main this took ~10 s.
    expect(timerAt).toBeDefined();
    expect(timerAt as number).toBeLessThan(2_000);
  });

  it('in fleet.yaml', async () => {
    const root = makeTree({ 'fleet.yaml': `hosts:\n  "*": ${deepFlow(300_000)}\n`, 'stacks/s/compose.yaml': 'services:\n  a:\n    image: x\n' });
    const started = performance.now();
    const e = await loadDesiredState({ root, host: 'h', revision: { commit: 'c0ffee', ref: 'v1.0.0', refKind: 'tag' } }).then(
      () => undefined,
      (err: unknown) => err as DriftdError,
    );
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(e?.message).toMatch(/fleet\.yaml:2: YAML nested deeper than 64 levels/);
  });

  it('in the config file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-config-'));
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, `host: a\nrepo: ${deepFlow(300_000)}\n`);
    const started = performance.now();
    expect(() => readConfigFile(file)).toThrow(`config file ${file}:2: YAML nested deeper than 64 levels; refused`);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
