/**
 * Issue 11 item 3, end to end in pure code: the five Object.prototype names as stack, service,
 * label, env key, fleet host and Compose project go through parse → model → drift → plan → report
 * and come out as ordinary data (no throw, no inherited value, no lost key).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadDesiredStateSync } from '../../../src/compose/load-desired-state.js';
import type { DesiredService, DesiredStack } from '../../../src/compose/model.js';
import { computeDrift } from '../../../src/drift/compute-drift.js';
import type { DriftReport } from '../../../src/drift/model.js';
import type { LiveContainer } from '../../../src/live/model.js';
import { toJsonReport } from '../../../src/report/json.js';
import { formatMarkdown } from '../../../src/report/markdown.js';
import { formatTable } from '../../../src/report/table.js';
import { planSync } from '../../../src/sync/plan.js';
import { summarizeLive } from '../../../src/sync/live-summary.js';
import { imageDefaults, inventory, liveContainer } from '../drift/fixtures.js';
import { cleanupTrees, makeTree } from './fixture.js';
import { own } from '../../../src/util/dict.js';

afterAll(cleanupTrees);

const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'] as const;
const IMAGE = '127.0.0.1:5000/driftd/worker:1.0';
const COMMIT = 'a'.repeat(40);

function repo(): string {
  const service = (name: string): string[] => [
    `  ${name}:`,
    `    image: ${IMAGE}`,
    '    labels:',
    ...NAMES.map((n) => `      ${n}: "label-${n}-of-${name}"`),
    '    environment:',
    ...NAMES.map((n) => `      ${n}: "env-${n}-of-${name}"`),
  ];
  // Stack names must match ^[a-z0-9][a-z0-9_-]{0,62}$: of the five, only "constructor" is one.
  return makeTree({
    'stacks/constructor/compose.yaml': ['services:', ...NAMES.flatMap(service), ''].join('\n'),
    'stacks/shop/compose.yaml': `services:\n  web:\n    image: ${IMAGE}\n`,
    'fleet.yaml': [
      'hosts:',
      ...NAMES.map((n) => `  ${n}: [constructor]`),
      '  other: [shop]',
      'stacks:',
      '  constructor:',
      '    prune: true',
      '    healthTimeout: 7s',
      '',
    ].join('\n'),
  });
}

/** The container `compose up` of driftd's rendered model creates for a service. */
/** `change`: label entries (not an object literal: `{ __proto__: x }` in a literal sets the prototype). */
function liveOf(stack: DesiredStack, svc: DesiredService, change: [string, string][] = []): LiveContainer {
  const labels: Record<string, string> = Object.fromEntries([
    ...Object.entries(svc.labels),
    ['com.docker.compose.project', stack.name],
    ['com.docker.compose.service', svc.name],
    ['com.docker.compose.oneoff', 'False'],
    ['io.driftd.stack', stack.name],
    ['io.driftd.revision', COMMIT],
    ['io.driftd.config-hash', svc.configHash],
    ...change,
  ]);
  return liveContainer(
    { project: stack.name, service: svc.name, image: IMAGE, labels, health: undefined },
    {
      env: { ...svc.environment },
      ports: [],
      mounts: [],
      networks: [`${stack.name}_default`],
      networkMode: `${stack.name}_default`,
      command: undefined,
      entrypoint: undefined,
      workingDir: undefined,
      healthcheck: undefined,
    },
  );
}

function report(result: ReturnType<typeof computeDrift>): DriftReport {
  return {
    schemaVersion: 1,
    driftdVersion: 'test',
    host: 'constructor',
    generatedAt: '2024-01-01T00:00:00.000Z',
    repo: '/repo',
    revision: { commit: COMMIT },
    summary: { stacks: result.stacks.length, synced: 0, outOfSync: 0, unknown: 0, findings: 0, bySeverity: { error: 0, warning: 0, info: 0 } },
    stacks: result.stacks,
    unmanaged: result.unmanaged,
    timings: {},
  };
}

describe('prototype-key names through parse → model → drift → plan → report', () => {
  const root = repo();
  const load = (host: string) => loadDesiredStateSync({ root, host, revision: { commit: COMMIT, refKind: 'commit' } as never });

  it('every prototype-key host gets exactly its fleet list; the stack gets its own policy', () => {
    for (const host of NAMES) {
      const desired = load(host);
      expect(desired.errors).toEqual([]);
      expect(desired.stacks.map((s) => s.name)).toEqual(['constructor']);
      expect(desired.stacks[0]?.policy).toMatchObject({ prune: true, healthTimeoutMs: 7000 });
    }
    expect(load('nobody').stacks).toEqual([]);
  });

  it('parses every service, label and env key as its own data', () => {
    const stack = load('constructor').stacks[0]!;
    expect(stack.services.map((s) => s.name).sort()).toEqual([...NAMES].sort());
    for (const svc of stack.services) {
      for (const n of NAMES) {
        expect(Object.hasOwn(svc.labels, n)).toBe(true);
        expect(own(svc.labels, n)).toBe(`label-${n}-of-${svc.name}`);
        expect(Object.hasOwn(svc.environment, n)).toBe(true);
        expect(own(svc.environment, n)).toBe(`env-${n}-of-${svc.name}`);
      }
    }
    expect(new Set(stack.services.map((s) => s.configHash)).size).toBe(NAMES.length);
  });

  it('a faithful live copy is in sync; a hand change of a prototype-key label or env key is config-drift naming it', () => {
    const desired = load('constructor');
    const stack = desired.stacks[0]!;
    const image = imageDefaults({ repoTags: [IMAGE], env: {}, labels: {}, command: undefined, entrypoint: undefined, workingDir: undefined, healthcheck: undefined, volumes: [] });
    const live = stack.services.map((s) => liveOf(stack, s));
    const clean = computeDrift({ desired, live: inventory(live, [image]) });
    expect(clean.stacks.map((s) => [s.stack, s.sync])).toEqual([['constructor', 'Synced']]);
    expect(clean.stacks[0]?.findings.filter((f) => f.kind === 'config-drift')).toEqual([]);

    const proto = stack.services.find((s) => s.name === '__proto__')!;
    const changed = [
      ...stack.services.filter((s) => s !== proto).map((s) => liveOf(stack, s)),
      { ...liveOf(stack, proto, [['__proto__', 'by-hand'], ['valueOf', 'added']]) },
    ];
    changed[changed.length - 1]!.config!.env = Object.fromEntries([...Object.entries(proto.environment), ['toString', 'edited']]);
    const drift = computeDrift({ desired, live: inventory(changed, [image]) });
    const fields = drift.stacks[0]!.findings.filter((f) => f.kind === 'config-drift').map((f) => [f.service, f.field, f.desired, f.live]);
    expect(fields).toEqual(
      expect.arrayContaining([
        ['__proto__', 'labels.__proto__', 'label-__proto__-of-__proto__', 'by-hand'],
        ['__proto__', 'labels.valueOf', 'label-valueOf-of-__proto__', 'added'],
        ['__proto__', 'environment.toString', 'env-toString-of-__proto__', 'edited'],
      ]),
    );
    for (const f of drift.stacks[0]!.findings) {
      expect(typeof f.desired === 'function' || typeof f.live === 'function').toBe(false);
    }

    const text = toJsonReport(report(drift));
    const parsed = JSON.parse(text) as { stacks: { stack: string; findings: { service?: string; field?: string }[] }[] };
    expect(parsed.stacks[0]?.stack).toBe('constructor');
    expect(parsed.stacks[0]?.findings.map((f) => f.field)).toEqual(expect.arrayContaining(['labels.__proto__', 'environment.toString']));
    expect(formatMarkdown(report(drift))).toContain('labels.__proto__');
    expect(formatTable(report(drift), { color: false })).toContain('__proto__');
  });

  it('the planner sees every prototype-key service: none changed → noop, one changed → exactly it', () => {
    const desired = load('constructor');
    const stack = desired.stacks[0]!;
    const target = { stack, revision: desired.revision, root };
    const base = {
      targets: [target],
      loadErrors: [],
      deployed: {},
      failedRevisions: new Set<string>(),
      approvals: new Set<string>(),
      drifted: new Set<string>(),
      prunePolicies: {},
      only: [],
      force: false,
      allowMassPrune: false,
    };
    const same = summarizeLive(inventory(stack.services.map((s) => liveOf(stack, s))));
    expect(Object.keys(own(same, 'constructor')?.services ?? {}).sort()).toEqual([...NAMES].sort());
    const noop = planSync({ ...base, live: same });
    expect(noop.stacks.map((p) => [p.stack, p.changedServices])).toEqual([['constructor', []]]);

    for (const name of NAMES) {
      const live = summarizeLive(
        inventory(stack.services.map((s) => liveOf(stack, s, s.name === name ? [['io.driftd.config-hash', 'old']] : []))),
      );
      const plan = planSync({ ...base, live });
      expect(plan.stacks[0]?.changedServices).toEqual([name]);
    }
  });

  it('a hand-started project named constructor next to a declared stack is unmanaged, and the stack is evaluated', () => {
    const desired = load('other');
    expect(desired.stacks.map((s) => s.name)).toEqual(['shop']);
    const live = [
      liveContainer({ project: 'constructor', service: '__proto__', labels: { 'com.docker.compose.project': 'constructor', 'com.docker.compose.service': '__proto__', 'com.docker.compose.oneoff': 'False' } }),
      liveContainer({ project: 'constructor', service: 'toString', labels: { 'com.docker.compose.project': 'constructor', 'com.docker.compose.service': 'toString', 'com.docker.compose.oneoff': 'False' } }),
    ];
    const result = computeDrift({ desired, live: inventory(live) });
    expect(result.stacks.map((s) => s.stack)).toEqual(['shop']);
    expect(result.unmanaged.map((f) => f.stack)).toEqual(['constructor']);
    expect(result.unmanaged[0]?.message).toContain('constructor');

    // A hand-added label and env key named like prototype members on a declared service: reported as
    // added (desired null), never compared with Object.prototype's functions.
    const shop = desired.stacks[0]!;
    const web = shop.services[0]!;
    const image = imageDefaults({ repoTags: [IMAGE], env: {}, labels: {}, command: undefined, entrypoint: undefined, workingDir: undefined, healthcheck: undefined, volumes: [] });
    const tampered = liveOf(shop, web, [['constructor', 'x']]);
    tampered.config!.env = Object.fromEntries([['hasOwnProperty', 'y'], ['__proto__', 'z']]);
    const drift = computeDrift({ desired, live: inventory([tampered], [image]) });
    const found = drift.stacks[0]!.findings.filter((f) => f.kind === 'config-drift').map((f) => [f.field, f.desired, f.live]);
    expect(found).toEqual([
      ['environment.__proto__', null, 'z'],
      ['environment.hasOwnProperty', null, 'y'],
      ['labels.constructor', null, 'x'],
    ]);
    const summary = summarizeLive(inventory(live));
    expect(Object.keys(summary)).toEqual(['constructor']);
    expect(Object.keys(own(summary, 'constructor')!.services).sort()).toEqual(['__proto__', 'toString']);
  });
});
