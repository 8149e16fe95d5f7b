/**
 * Names that are Object.prototype keys (`constructor`, `toString`, `hasOwnProperty`, `valueOf`,
 * `__proto__`) are data like any other name: a stack, service, label, env key, fleet entry or
 * Compose project so named loads, renders, compares and plans like any other (issue 11 item 3).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadStack } from '../../../src/compose/load-stack.js';
import { parseFleet, policyFor, stacksForHost, DEFAULT_POLICY } from '../../../src/compose/fleet.js';
import { renderStack, toComposeYaml } from '../../../src/compose/render.js';
import { toKeyValueMap } from '../../../src/compose/merge.js';
import { computeDrift } from '../../../src/drift/compute-drift.js';
import { groupProjects } from '../../../src/live/inventory.js';
import { parseEnvList } from '../../../src/live/inspect-mapper.js';
import { summarizeLive } from '../../../src/sync/live-summary.js';
import { hashObject, stableStringify } from '../../../src/util/hash.js';
import { redactEnv } from '../../../src/util/scrub.js';
import { dict, own, ownOrSet, setOwn } from '../../../src/util/dict.js';
import { desiredService, desiredStack, desiredState, inventory, liveContainer } from '../drift/fixtures.js';
import { cleanupTrees, makeTree } from './fixture.js';

afterAll(cleanupTrees);

const PROTO_SERVICES = ['constructor', 'toString', 'hasOwnProperty', 'valueOf'];

describe('util/dict', () => {
  it('dict() has no inherited keys; own() ignores inherited ones; setOwn stores __proto__ as data', () => {
    const d = dict<number>();
    expect(d.constructor).toBeUndefined();
    const empty: Record<string, number> = {};
    expect(own(empty, 'toString')).toBeUndefined();
    const m = ownOrSet<number[]>({}, 'constructor', () => []);
    m.push(1);
    const plain: Record<string, string> = {};
    setOwn(plain, '__proto__', 'x');
    expect(Object.keys(plain)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
  });
});

describe('a stack named constructor with prototype-key services, labels and env keys', () => {
  const files = {
    'stacks/constructor/compose.yaml': [
      'services:',
      ...PROTO_SERVICES.flatMap((s) => [
        `  ${s}:`,
        '    image: 127.0.0.1:5000/driftd/worker:1.0',
        '    labels:',
        '      __proto__: "p"',
        '      constructor: "c"',
        '      toString: "t"',
        '    environment:',
        '      __proto__: "envp"',
        '      hasOwnProperty: "envh"',
        '    env_file: [app.env]',
      ]),
      '',
    ].join('\n'),
    'stacks/constructor/app.env': 'valueOf=fromfile\nconstructor=${toString:-dflt}\n',
  };

  it('loads every service with every label and env key as its own data', async () => {
    const stack = await loadStack({ root: makeTree(files), name: 'constructor' });
    expect(stack.services.map((s) => s.name).sort()).toEqual([...PROTO_SERVICES].sort());
    for (const svc of stack.services) {
      expect(Object.hasOwn(svc.labels, '__proto__')).toBe(true);
      expect(svc.labels).toMatchObject({ constructor: 'c', toString: 't' });
      expect(svc.labels.__proto__).toBe('p');
      expect(Object.hasOwn(svc.environment, '__proto__')).toBe(true);
      expect(svc.environment.__proto__).toBe('envp');
      expect(svc.environment).toMatchObject({ hasOwnProperty: 'envh', valueOf: 'fromfile', constructor: 'dflt' });
    }
    // The config hash sees the __proto__ label: changing it changes the hash.
    const other = await loadStack({ root: makeTree({ ...files, 'stacks/constructor/compose.yaml': files['stacks/constructor/compose.yaml'].replaceAll('__proto__: "p"', '__proto__: "q"') }), name: 'constructor' });
    expect(other.services[0]?.configHash).not.toBe(stack.services[0]?.configHash);

    const rendered = renderStack(stack, { revision: 'r'.repeat(40), redact: false });
    const services = rendered.services as Record<string, { labels: Record<string, string>; environment: Record<string, string> }>;
    expect(Object.keys(services).sort()).toEqual([...PROTO_SERVICES].sort());
    for (const s of PROTO_SERVICES) {
      expect(Object.hasOwn(services, s)).toBe(true);
      expect(Object.hasOwn(services[s]!.labels, '__proto__')).toBe(true);
      expect(services[s]!.labels['io.driftd.stack']).toBe('constructor');
    }
    const yaml = toComposeYaml(rendered);
    expect(yaml).toContain('__proto__: "p"');
    expect(yaml).toContain('__proto__: "envp"');
  });

  it('key/value maps, env lists, redaction and hashing keep __proto__ and constructor keys', () => {
    const kv = toKeyValueMap(['__proto__=a', 'constructor=b', 'toString'], ['services', 'x', 'environment']);
    expect(Object.keys(kv)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(own(kv, 'toString')).toBeNull();
    const env = parseEnvList(['__proto__=1', 'constructor=2']);
    expect(Object.keys(env)).toEqual(['__proto__', 'constructor']);
    const red = redactEnv({ ...env, TOKEN: 'x' });
    expect(Object.keys(red)).toEqual(['__proto__', 'constructor', 'TOKEN']);
    expect(stableStringify(env)).toBe('{"__proto__":"1","constructor":"2"}');
    expect(hashObject(env)).not.toBe(hashObject({ constructor: '2' }));
  });
});

describe('fleet.yaml with prototype-key names', () => {
  it('a stack named constructor has its own policy; no other stack inherits one', () => {
    const fleet = parseFleet('hosts:\n  constructor: [constructor]\n  h1: [web]\nstacks:\n  constructor:\n    prune: true\n    sync: manual\n');
    expect(policyFor(fleet, 'constructor')).toMatchObject({ prune: true, sync: 'manual' });
    const plain = parseFleet('stacks:\n  web:\n    prune: true\n');
    expect(policyFor(plain, 'constructor')).toEqual(DEFAULT_POLICY);
    expect(policyFor(plain, 'toString')).toEqual(DEFAULT_POLICY);
    expect(stacksForHost(fleet, 'constructor')).toEqual(['constructor']);
    expect(stacksForHost(fleet, 'toString')).toEqual([]);
    expect(stacksForHost(fleet, 'hasOwnProperty')).toEqual([]);
  });
});

describe('live state with a Compose project named constructor', () => {
  it('groups it as a project, summarizes it, and every other stack is still evaluated', () => {
    const containers = [
      liveContainer({ project: 'constructor', service: 'toString' }),
      liveContainer({ project: 'constructor', service: 'valueOf' }),
      liveContainer({ project: 'shop', service: 'web' }),
    ];
    const projects = groupProjects(containers);
    expect(Object.keys(projects).sort()).toEqual(['constructor', 'shop']);
    expect(own(projects, 'constructor')?.containers).toHaveLength(2);
    const summary = summarizeLive(inventory(containers));
    expect(Object.keys(own(summary, 'constructor')?.services ?? {}).sort()).toEqual(['toString', 'valueOf']);

    // Desired: shop only. The hand-started "constructor" project is unmanaged, shop is evaluated.
    const result = computeDrift({ desired: desiredState([desiredStack()]), live: inventory(containers) });
    expect(result.stacks.map((s) => s.stack)).toEqual(['shop']);
    expect(result.unmanaged.map((f) => f.stack)).toEqual(['constructor']);
  });

  it('a desired stack named constructor with a toString service is compared like any other', () => {
    const stack = desiredStack({ name: 'constructor', services: [desiredService({ name: 'toString' })] });
    const noLive = computeDrift({ desired: desiredState([stack]), live: inventory([]) });
    expect(noLive.stacks[0]?.findings.map((f) => f.kind)).toContain('stack-missing');
    const other = computeDrift({ desired: desiredState([desiredStack(), stack]), live: inventory([liveContainer({ project: 'shop', service: 'web' })]) });
    expect(other.stacks.map((s) => s.stack).sort()).toEqual(['constructor', 'shop']);
  });
});
