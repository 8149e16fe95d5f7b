import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fleetKeyFor, stackKeyFor, type HostInputs } from '../../../src/commands/verdict-cache.js';
import type { LiveContainer } from '../../../src/live/model.js';
import type { DeployedRecord } from '../../../src/sync/model.js';
import { tempDir } from '../state/helpers.js';
import { decideNoChange, splitByVerdict, FLEET_SCOPE, policyHash, stackKey, stackScope, verdictOf, type NoChangeInput, type StackKeyParts, type StoredVerdict } from '../../../src/sync/verdict.js';
import { COMPOSE_LABELS, LABEL_AGENT, LABEL_CONFIG_HASH, LABEL_STACK } from '../../../src/util/labels.js';
import { DEFAULT_POLICY } from '../../../src/compose/fleet.js';

const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);
const OID = (c: string) => c.repeat(40);

const PARTS: StackKeyParts = {
  version: '1.0.0',
  host: 'h1',
  stack: 'web',
  tree: OID('1'),
  lock: OID('2'),
  policy: policyHash({ ...DEFAULT_POLICY }),
  hostEnv: H1,
  envDir: '/etc/driftd/env',
  processEnv: '',
  privateEnvNames: ['DRIFTD_GIT_TOKEN'],
  maxFileBytes: 1 << 20,
  hostPolicy: H2,
  snapshotProblems: 0,
};

describe('stackKey: every input of a stack load is in the key', () => {
  const changed: { [K in keyof StackKeyParts]: StackKeyParts[K] } = {
    version: '1.0.1',
    host: 'h2',
    stack: 'api',
    tree: OID('3'),
    lock: null,
    policy: policyHash({ ...DEFAULT_POLICY, selfHeal: true }),
    hostEnv: null,
    envDir: '/srv/env',
    processEnv: H1,
    privateEnvNames: ['DRIFTD_GIT_TOKEN', 'MY_SECRET'],
    maxFileBytes: 1 << 10,
    hostPolicy: H1,
    snapshotProblems: 1,
  };
  for (const field of Object.keys(changed) as (keyof StackKeyParts)[]) {
    it(`changing only ${field} misses`, () => {
      expect(stackKey({ ...PARTS, [field]: changed[field] })).not.toBe(stackKey(PARTS));
    });
  }
  it('is stable for equal inputs (private names in any order)', () => {
    expect(stackKey({ ...PARTS, privateEnvNames: ['B', 'A'] })).toBe(stackKey({ ...PARTS, privateEnvNames: ['A', 'B'] }));
  });
  it('every policy field changes the policy hash', () => {
    const base = policyHash({ ...DEFAULT_POLICY });
    expect(policyHash({ ...DEFAULT_POLICY, sync: 'manual' })).not.toBe(base);
    expect(policyHash({ ...DEFAULT_POLICY, prune: !DEFAULT_POLICY.prune })).not.toBe(base);
    expect(policyHash({ ...DEFAULT_POLICY, healthTimeoutMs: 1 })).not.toBe(base);
    expect(policyHash({ ...DEFAULT_POLICY, rollbackOnFailure: !DEFAULT_POLICY.rollbackOnFailure })).not.toBe(base);
    expect(policyHash({ ...DEFAULT_POLICY, security: { mode: 'enforce' } as never })).not.toBe(base);
  });
});

describe('stackKeyFor: the inputs read from the host', () => {
  const envDir = mkdtempSync(path.join(os.tmpdir(), 'verdict-env-'));
  afterAll(() => rmSync(envDir, { recursive: true, force: true }));
  const inputs: HostInputs = { host: 'h1', envDir, allowProcessEnv: false, privateEnvNames: [], maxFileBytes: 1 << 20, hostPolicy: { mode: 'warn' } };
  const snap = { oids: { 'stacks/web': OID('1'), 'locks/web.lock.json': OID('2'), 'fleet.yaml': OID('4') }, problems: [] };
  const key = (over: Partial<HostInputs> = {}, s: Parameters<typeof stackKeyFor>[1] = snap, env: NodeJS.ProcessEnv = {}) => stackKeyFor({ ...inputs, ...over }, s, env)('web', 'p');

  it('the host env file content (not only its presence)', () => {
    const none = key();
    writeFileSync(path.join(envDir, 'web.env'), 'A=1\n');
    const one = key();
    writeFileSync(path.join(envDir, 'web.env'), 'A=2\n');
    expect(new Set([none, one, key()]).size).toBe(3);
  });
  it('no env dir is the same as no env file; an env file or dir that cannot be read gives no key', () => {
    const none = path.join(tempDir(), 'env');
    const missing = key({ envDir: none });
    expect(missing).toBeDefined();
    mkdirSync(none);
    expect(key({ envDir: none })).toBe(missing);
    // The dir is listed once per key function; a listed name that cannot be read is not "no file".
    mkdirSync(path.join(none, 'web.env'));
    expect(key({ envDir: none })).toBeUndefined();
    // A dir that cannot be listed (here: a file) falls back to opening the stack's file, which fails too.
    writeFileSync(path.join(none, 'plain'), '');
    expect(key({ envDir: path.join(none, 'plain') })).toBeUndefined();
  });
  it('the folder tree and the lock blob', () => {
    expect(key({}, { ...snap, oids: { ...snap.oids, 'stacks/web': OID('5') } })).not.toBe(key());
    expect(key({}, { ...snap, oids: { ...snap.oids, 'locks/web.lock.json': OID('6') } })).not.toBe(key());
  });
  it('the process environment, only when interpolation may read it, without private names', () => {
    expect(key({}, snap, { X: '1' })).toBe(key({}, snap, { X: '2' }));
    const on = { allowProcessEnv: true };
    expect(key(on, snap, { X: '1' })).not.toBe(key(on, snap, { X: '2' }));
    expect(key({ ...on, privateEnvNames: ['TOKEN'] }, snap, { TOKEN: '1' })).toBe(key({ ...on, privateEnvNames: ['TOKEN'] }, snap, { TOKEN: '2' }));
  });
  it('the host security policy and the stack’s snapshot problems', () => {
    expect(key({ hostPolicy: { mode: 'enforce' } })).not.toBe(key());
    expect(key({}, { ...snap, problems: [{ stack: 'web', file: 'stacks/web/x', code: 'UnsafeLink', message: 'm' }] as never })).not.toBe(key());
    expect(key({}, { ...snap, problems: [{ stack: 'api', file: 'stacks/api/x', code: 'UnsafeLink', message: 'm' }] as never })).toBe(key());
  });
  it('no key without object ids or for an unknown folder (the stack is loaded)', () => {
    expect(key({}, { problems: [] })).toBeUndefined();
    expect(stackKeyFor(inputs, snap, {})('api', 'p')).toBeUndefined();
  });
  it('fleetKeyFor: fleet.yaml, the folder list, the host and the size limit', () => {
    const base = fleetKeyFor(inputs, snap);
    expect(base).toBeDefined();
    expect(fleetKeyFor(inputs, { oids: { ...snap.oids, 'fleet.yaml': OID('7') } })).not.toBe(base);
    expect(fleetKeyFor(inputs, { oids: { ...snap.oids, 'stacks/api': OID('8') } })).not.toBe(base);
    expect(fleetKeyFor({ ...inputs, host: 'h2' }, snap)).not.toBe(base);
    expect(fleetKeyFor({ ...inputs, maxFileBytes: 10 }, snap)).not.toBe(base);
    // The folder's content is the stack key's business, not the selection's.
    expect(fleetKeyFor(inputs, { oids: { ...snap.oids, 'stacks/web': OID('9') } })).toBe(base);
    expect(fleetKeyFor(inputs, {})).toBeUndefined();
  });
});

function container(service: string, hash: string, over: Partial<LiveContainer> = {}, project = 'web'): LiveContainer {
  return {
    id: `${project}-${service}-${Math.random()}`,
    name: `${project}-${service}-1`,
    project,
    service,
    number: 1,
    image: 'app:1',
    imageId: 'sha256:x',
    state: 'running',
    health: 'none',
    labels: { [LABEL_CONFIG_HASH]: hash, [LABEL_STACK]: project, [COMPOSE_LABELS.oneoff]: 'False' },
    createdAt: '2026-01-01T00:00:00Z',
    ...over,
  };
}

describe('decideNoChange', () => {
  const verdict = verdictOf({ inputsHash: 'in', services: [{ name: 'app', configHash: H1, replicas: 2 }, { name: 'db', configHash: H2, replicas: 1 }] });
  const stored = (over: Record<string, StoredVerdict | undefined> = {}): Map<string, StoredVerdict> => {
    const m = new Map<string, StoredVerdict>([
      [FLEET_SCOPE, { key: 'F', verdict: { stacks: { web: H2 } } }],
      [stackScope('web'), { key: 'K', verdict }],
    ]);
    for (const [k, v] of Object.entries(over)) {
      if (v === undefined) m.delete(k);
      else m.set(k, v);
    }
    return m;
  };
  const deployedRec: DeployedRecord = { revision: 'c1', inputsHash: 'in', configHashes: { app: H1, db: H2 } };
  const live = [container('app', H1), container('app', H1), container('db', H2)];
  const base = (over: Partial<NoChangeInput> = {}): NoChangeInput => ({
    stored: stored(),
    fleetKey: 'F',
    stackKey: (s, p) => (s === 'web' && p === H2 ? 'K' : 'other'),
    commit: 'c1',
    containers: live,
    deployed: (s) => (s === 'web' ? deployedRec : undefined),
    ...over,
  });

  it('hits when every row, key, deployment and container matches', () => {
    expect(decideNoChange(base())).toEqual({ hit: true, stacks: ['web'] });
  });
  it('ignores other projects that driftd did not deploy here', () => {
    expect(decideNoChange(base({ containers: [...live, container('x', H1, {}, 'other')] })).hit).toBe(true);
  });
  it('reads the containers as the planner does (summarizeLive): a `compose run` job or a look-alike without the oneoff label is no replica', () => {
    const job = container('app', H2, { state: 'exited', labels: { [LABEL_CONFIG_HASH]: H2, [LABEL_STACK]: 'web', [COMPOSE_LABELS.oneoff]: 'True' } });
    const lookAlike = container('cache', H1, { labels: { [LABEL_STACK]: 'web' } });
    expect(decideNoChange(base({ containers: [...live, job, lookAlike] })).hit).toBe(true);
  });
  const misses: [string, Partial<NoChangeInput>][] = [
    ['the host selection key changed', { fleetKey: 'F2' }],
    ['no fleet row', { stored: stored({ [FLEET_SCOPE]: undefined }) }],
    ['the stack key changed', { stackKey: () => 'K2' }],
    ['the stack has no key', { stackKey: () => undefined }],
    ['no stack row', { stored: stored({ [stackScope('web')]: undefined }) }],
    ['another commit', { commit: 'c2' }],
    ['no deployment recorded', { deployed: () => undefined }],
    ['the deployment has other inputs', { deployed: () => ({ ...deployedRec, inputsHash: 'other' }) }],
    ['the deployment has other hashes', { deployed: () => ({ ...deployedRec, configHashes: { app: H2, db: H2 } }) }],
    ['a container label differs', { containers: [container('app', H1), container('app', H2), container('db', H2)] }],
    ['a replica is missing', { containers: [container('app', H1), container('db', H2)] }],
    ['an extra replica', { containers: [...live, container('db', H2)] }],
    ['a container stopped', { containers: [container('app', H1), container('app', H1, { state: 'exited' }), container('db', H2)] }],
    ['a container unhealthy', { containers: [container('app', H1), container('app', H1, { health: 'unhealthy' }), container('db', H2)] }],
    ['a health check starting', { containers: [container('app', H1), container('app', H1, { health: 'starting' }), container('db', H2)] }],
    ['an undeclared service runs', { containers: [...live, container('cache', H1)] }],
    ['the agent runs in the project', { containers: [container('app', H1), container('app', H1, { labels: { [LABEL_CONFIG_HASH]: H1, [LABEL_AGENT]: 'true' } }), container('db', H2)] }],
    ['the agent runs in the project as a one-off container', { containers: [...live, container('app', H1, { labels: { [LABEL_AGENT]: 'true', [COMPOSE_LABELS.oneoff]: 'True' } })] }],
    [
      'a stack driftd deployed left the host',
      { containers: [...live, container('x', H1, {}, 'gone')], deployed: (s) => (s === 'web' || s === 'gone' ? deployedRec : undefined) },
    ],
  ];
  for (const [why, over] of misses) {
    it(`misses when ${why}`, () => {
      expect(decideNoChange(base(over)).hit).toBe(false);
    });
  }

  describe('hostile rows never give a wrong "no change"', () => {
    const forged: [string, unknown][] = [
      ['not JSON (parsed to undefined)', undefined],
      ['a string', 'in sync'],
      ['an extra field', { ...verdict, trusted: true }],
      ['a zero replica count', { inputsHash: 'in', services: { app: { configHash: H1, replicas: 0 } } }],
      ['a short hash', { inputsHash: 'in', services: { app: { configHash: 'abc', replicas: 2 } } }],
      ['no services', { inputsHash: 'in', services: {} }],
      ['a __proto__ service', JSON.parse(`{"inputsHash":"in","services":{"__proto__":{"configHash":"${H1}","replicas":1}}}`)],
    ];
    for (const [why, value] of forged) {
      it(`a verdict row that is ${why} misses`, () => {
        expect(decideNoChange(base({ stored: stored({ [stackScope('web')]: { key: 'K', verdict: value } }) })).hit).toBe(false);
      });
    }
    it('a forged verdict that matches drifted containers still misses: the recorded deployment disagrees', () => {
      const drifted = [container('app', H2), container('app', H2), container('db', H2)];
      const lie = verdictOf({ inputsHash: 'in', services: [{ name: 'app', configHash: H2, replicas: 2 }, { name: 'db', configHash: H2, replicas: 1 }] });
      expect(decideNoChange(base({ containers: drifted, stored: stored({ [stackScope('web')]: { key: 'K', verdict: lie } }) })).hit).toBe(false);
    });
    it('a forged verdict cannot hide live containers that differ from it', () => {
      const lie = verdictOf({ inputsHash: 'in', services: [{ name: 'app', configHash: H1, replicas: 2 }, { name: 'db', configHash: H2, replicas: 1 }] });
      const drifted = [container('app', H1), container('app', H1), container('db', H1)];
      expect(decideNoChange(base({ containers: drifted, stored: stored({ [stackScope('web')]: { key: 'K', verdict: lie } }) })).hit).toBe(false);
    });
    it('a forged fleet row that declares no stack, or is malformed, misses', () => {
      expect(decideNoChange(base({ stored: stored({ [FLEET_SCOPE]: { key: 'F', verdict: { stacks: {} } } }) })).hit).toBe(false);
      expect(decideNoChange(base({ stored: stored({ [FLEET_SCOPE]: { key: 'F', verdict: { stacks: { web: 'x' } } } }) })).hit).toBe(false);
      expect(decideNoChange(base({ stored: stored({ [FLEET_SCOPE]: { key: 'F', verdict: [] } }) })).hit).toBe(false);
    });
  });
});

describe('splitByVerdict: after a miss, which stacks still need no load', () => {
  // Two stacks, both known: `api` stays as it is in every case, `web` is changed one way at a time.
  const verdict = verdictOf({ inputsHash: 'in', services: [{ name: 'app', configHash: H1, replicas: 1 }] });
  const stored = (over: Record<string, StoredVerdict | undefined> = {}): Map<string, StoredVerdict> => {
    const m = new Map<string, StoredVerdict>([
      [FLEET_SCOPE, { key: 'F', verdict: { stacks: { web: H2, api: H2 } } }],
      [stackScope('web'), { key: 'Kweb', verdict }],
      [stackScope('api'), { key: 'Kapi', verdict }],
    ]);
    for (const [k, v] of Object.entries(over)) {
      if (v === undefined) m.delete(k);
      else m.set(k, v);
    }
    return m;
  };
  const rec: DeployedRecord = { revision: 'c1', inputsHash: 'in', configHashes: { app: H1 } };
  const live = [container('app', H1, {}, 'web'), container('app', H1, {}, 'api')];
  const base = (over: Partial<NoChangeInput> = {}): NoChangeInput => ({
    stored: stored(),
    fleetKey: 'F',
    stackKey: (s, p) => (p === H2 ? `K${s}` : 'other'),
    // A new commit: every recorded deployment is older, which a partial run records, not applies.
    commit: 'c2',
    containers: live,
    deployed: (s) => (s === 'web' || s === 'api' ? rec : undefined),
    ...over,
  });
  const names = (r: ReturnType<typeof splitByVerdict>) => r && { unchanged: r.unchanged.map(([s]) => s), changed: r.changed };

  it('a new commit that changed no stack: every stack is known, none is loaded', () => {
    expect(names(splitByVerdict(base()))).toEqual({ unchanged: ['api', 'web'], changed: [] });
  });
  const loaded: [string, Partial<NoChangeInput>][] = [
    ['its inputs key changed (a new tag changed it)', { stackKey: (s, p) => (s === 'web' ? 'K2' : `K${s}${p === H2 ? '' : 'x'}`) }],
    ['it has no key', { stackKey: (s) => (s === 'web' ? undefined : `K${s}`) }],
    ['its row is missing', { stored: stored({ [stackScope('web')]: undefined }) }],
    ['its row is forged', { stored: stored({ [stackScope('web')]: { key: 'Kweb', verdict: { ...verdict, trusted: true } } }) }],
    ['no deployment is recorded', { deployed: (s) => (s === 'api' ? rec : undefined) }],
    ['the deployment has other inputs', { deployed: (s) => (s === 'web' ? { ...rec, inputsHash: 'x' } : rec) }],
    ['the deployment has other hashes', { deployed: (s) => (s === 'web' ? { ...rec, configHashes: { app: H2 } } : rec) }],
    ['a container label differs', { containers: [container('app', H2, {}, 'web'), container('app', H1, {}, 'api')] }],
    ['a container is missing', { containers: [container('app', H1, {}, 'api')] }],
    ['a container stopped (it gets the full plan and its health gate)', { containers: [container('app', H1, { state: 'exited' }, 'web'), container('app', H1, {}, 'api')] }],
    ['a container is unhealthy', { containers: [container('app', H1, { health: 'unhealthy' }, 'web'), container('app', H1, {}, 'api')] }],
    ['the agent runs in it', { containers: [container('app', H1, { labels: { [LABEL_CONFIG_HASH]: H1, [LABEL_STACK]: 'web', [LABEL_AGENT]: 'true' } }, 'web'), container('app', H1, {}, 'api')] }],
  ];
  for (const [why, over] of loaded) {
    it(`loads and plans a stack when ${why}; the other stays known`, () => {
      expect(names(splitByVerdict(base(over)))).toEqual({ unchanged: ['api'], changed: ['web'] });
    });
  }
  const full: [string, Partial<NoChangeInput>][] = [
    ['the host selection changed', { fleetKey: 'F2' }],
    ['there is no selection row', { stored: stored({ [FLEET_SCOPE]: undefined }) }],
    ['the selection row is forged', { stored: stored({ [FLEET_SCOPE]: { key: 'F', verdict: { stacks: { web: 'x' } } } }) }],
    ['a stack driftd deployed left the host (a prune is for the full plan)', { containers: [...live, container('x', H1, {}, 'gone')], deployed: () => rec }],
    ['no stack is known', { stackKey: () => undefined }],
  ];
  for (const [why, over] of full) {
    it(`gives the run to the full plan when ${why}`, () => {
      expect(splitByVerdict(base(over))).toBeUndefined();
    });
  }
});
