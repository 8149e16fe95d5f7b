import { describe, expect, it } from 'vitest';
import { composeSchema } from '../../../src/validate/compose-schema.js';
import { brief, compose, lint } from './helpers.js';

const FILE = 'stacks/app/compose.yaml';

interface Case {
  name: string;
  files: Record<string, string>;
  /** "file:line" → message (every finding of the stack, whatever its kind). */
  want: { at: string; kind?: string; message: RegExp }[];
}

const CASES: Case[] = [
  {
    name: 'an unknown service key, at its line',
    files: { [FILE]: compose('services:', '  app:', '    image: nginx:1.27.3', '    restartt: always') },
    want: [{ at: `${FILE}:4`, message: /^services\.app: unknown key "restartt"$/ }],
  },
  {
    name: 'an unknown top-level key (the loader says the same; reported once)',
    files: { [FILE]: compose('services:', '  app:', '    image: nginx:1.27.3', 'servics: {}') },
    want: [{ at: `${FILE}:4`, message: /^unknown top-level key "servics"$/ }],
  },
  {
    name: 'a string where a list is expected',
    files: { [FILE]: compose('services:', '  app:', '    image: nginx:1.27.3', '    ports: "80:80"') },
    want: [{ at: `${FILE}:4`, message: /^services\.app\.ports must be a list \(got "80:80"\)$/ }],
  },
  {
    name: 'a value that fits none of the forms of a oneOf',
    files: { [FILE]: compose('services:', '  app:', '    image: nginx:1.27.3', '    ports:', '      - [80]') },
    want: [{ at: `${FILE}:5`, message: /^services\.app\.ports\[0\] must be a number, a string or a mapping \(got a list\)$/ }],
  },
  {
    name: 'an error inside the oneOf branch whose type matched',
    files: { [FILE]: compose('services:', '  app:', '    image: nginx:1.27.3', '    ports:', '      - "8080:80"', '      - target: 80', '        publishd: 8081') },
    want: [{ at: `${FILE}:7`, message: /^services\.app\.ports\[1\]: unknown key "publishd"$/ }],
  },
  {
    name: 'a label value that is a mapping',
    files: { [FILE]: compose('services:', '  app:', '    image: nginx:1.27.3', '    labels:', '      a.b:', '        c: d') },
    want: [{ at: `${FILE}:5`, message: /^services\.app\.labels\.a\.b must be a string, a number, a boolean or null \(got a mapping\)$/ }],
  },
  {
    name: 'a service name Compose refuses',
    files: { [FILE]: compose('services:', '  "my app":', '    image: nginx:1.27.3') },
    want: [{ at: `${FILE}:2`, message: /^services: "my app" is not a valid name here \(it must match \^\[a-zA-Z0-9\._-\]\+\$\)$/ }],
  },
  {
    name: 'a missing required key',
    files: { [FILE]: compose('services:', '  app:', '    image: nginx:1.27.3', '    volumes:', '      - source: ./data', '        target: /data') },
    want: [{ at: `${FILE}:5`, message: /^services\.app\.volumes\[0\]: the required key "type" is missing$/ }],
  },
  {
    name: 'a value outside an enum',
    files: {
      [FILE]: compose('services:', '  db:', '    image: postgres:17.2', '  app:', '    image: nginx:1.27.3', '    depends_on:', '      db:', '        condition: healthy'),
    },
    want: [{ at: `${FILE}:8`, message: /^services\.app\.depends_on\.db\.condition must be one of "service_started", "service_healthy", "service_completed_successfully" \(got "healthy"\)$/ }],
  },
  {
    name: 'an error in the override file is reported in the override file',
    files: {
      [FILE]: compose('services:', '  app:', '    image: nginx:1.27.3'),
      'stacks/app/compose.override.yaml': compose('services:', '  app:', '    mem_limt: 64m'),
    },
    want: [{ at: 'stacks/app/compose.override.yaml:3', message: /^services\.app: unknown key "mem_limt"$/ }],
  },
  {
    name: 'a key that comes from an anchor is located at the anchor',
    files: { [FILE]: compose('x-common: &common', '  restart: always', '  stop_grace: 10s', 'services:', '  app:', '    <<: *common', '    image: nginx:1.27.3') },
    want: [{ at: `${FILE}:3`, message: /^services\.app: unknown key "stop_grace"$/ }],
  },
  {
    name: 'interpolated values are checked after interpolation',
    files: {
      [FILE]: compose('services:', '  app:', '    image: nginx:1.27.3', '    privileged: ${PRIV:-false}', '    ports: ["${PORT:-8080}:80"]', '    deploy:', '      replicas: ${N:-2}'),
    },
    want: [],
  },
  {
    name: 'extension fields, anchors and both port syntaxes are valid',
    files: {
      [FILE]: compose(
        'x-logging: &logging',
        '  driver: json-file',
        'services:',
        '  app:',
        '    image: nginx:1.27.3',
        '    logging: *logging',
        '    x-note: anything',
        '    ports:',
        '      - 8080:80',
        '      - { target: 443, published: "8443", protocol: tcp }',
      ),
    },
    want: [],
  },
];

describe('compose-spec schema findings', () => {
  it.each(CASES)('$name', async ({ files, want }) => {
    const result = await lint(files);
    const got = result.findings.map((f) => ({ at: brief(f).split(' ')[0], kind: f.kind, message: f.message }));
    expect(got).toHaveLength(want.length);
    for (const [i, w] of want.entries()) {
      expect(got[i]?.at).toBe(w.at);
      expect(got[i]?.kind).toBe(w.kind ?? 'compose-schema');
      expect(got[i]?.message).toMatch(w.message);
    }
  });

  it('compiles the schema once and shares it', async () => {
    const [a, b] = await Promise.all([composeSchema(), composeSchema()]);
    expect(a).toBe(b);
    expect(a({ services: { app: { image: 'nginx:1.27.3' } } })).toEqual([]);
  });
});
