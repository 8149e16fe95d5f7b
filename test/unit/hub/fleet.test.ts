import { describe, expect, it } from 'vitest';
import { buildFleet, filterFleet, fleetExitCode, rolledBack, type FleetInput, type HostRecord } from '../../../src/hub/fleet.js';
import { reportSchema, type Report, type ReportStack } from '../../../src/hub/report.js';
import { agentTokens, parseAgentTokens } from '../../../src/hub/tokens.js';
import { reportStack } from '../../support/hub-fixture.js';

const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);
const NOW = Date.parse('2026-01-01T12:00:00.000Z');
const ago = (ms: number): string => new Date(NOW - ms).toISOString();

const stack = (name: string, over: Partial<ReportStack> = {}): ReportStack => reportStack(name, C2, over);

const report = (host: string, over: Partial<Report> = {}): Report => ({
  schemaVersion: 1,
  host,
  kind: 'cycle',
  sentAt: ago(0),
  version: '0.1.0',
  target: { commit: C2, ref: 'v2.0.0' },
  stacks: [stack('web'), stack('db')],
  ...over,
});

const rec = (host: string, over: Partial<Report> = {}, receivedAgo = 60_000): HostRecord => ({ host, report: report(host, over), receivedAt: ago(receivedAgo) });

const input = (records: HostRecord[], over: Partial<FleetInput> = {}): FleetInput => ({
  now: NOW,
  records,
  knownHosts: records.map((r) => r.host),
  firstSeen: new Map([
    [C1, ago(86_400_000)],
    [C2, ago(3_600_000)],
  ]),
  silentAfterMs: 15 * 60_000,
  stragglerGraceMs: 30 * 60_000,
  ...over,
});

describe('the fleet model', () => {
  it('an all-synced fleet: every host synced, the newest rollout complete, exit 0', () => {
    const v = buildFleet(input([rec('a'), rec('b'), rec('c')]));
    expect(v.summary).toEqual({ hosts: 3, synced: 3, outOfSync: 0, silent: 0, stragglers: 0 });
    expect(v.newest).toMatchObject({ commit: C2, ref: 'v2.0.0', hosts: 3, synced: 3, rolledBack: 0, pending: 0 });
    expect(v.stacks).toEqual(['db', 'web']);
    expect(fleetExitCode(v)).toBe(0);
  });

  it('a host that stopped reporting is silent after silentAfter; a known host that never reported is silent too', () => {
    const v = buildFleet(input([rec('a'), rec('b', {}, 16 * 60_000)], { knownHosts: ['a', 'b', 'never'] }));
    const state = Object.fromEntries(v.hosts.map((h) => [h.host, h.state]));
    expect(state).toEqual({ a: 'synced', b: 'silent', never: 'silent' });
    expect(v.hosts.find((h) => h.host === 'never')?.lastSeen).toBeUndefined();
    expect(v.summary.silent).toBe(2);
    expect(fleetExitCode(v)).toBe(2);
  });

  it('just inside silentAfter is not silent (the boundary is "more than")', () => {
    const v = buildFleet(input([rec('a', {}, 15 * 60_000)]));
    expect(v.hosts[0]?.state).toBe('synced');
  });

  it('stragglers: hosts not synced on the newest target once the grace period passed; none before it', () => {
    const records = [rec('new'), rec('old', { target: { commit: C1, ref: 'v1.0.0' }, stacks: [stack('web', { desired: { commit: C1 }, deployed: { commit: C1 } })] })];
    const late = buildFleet(input(records));
    expect(late.hosts.filter((h) => h.straggler).map((h) => h.host)).toEqual(['old']);
    expect(late.newest).toMatchObject({ commit: C2, hosts: 2, synced: 1, pending: 1 });
    expect(late.targets.map((t) => [t.ref, t.hosts])).toEqual([
      ['v2.0.0', 1],
      ['v1.0.0', 1],
    ]);
    const early = buildFleet(input(records, { stragglerGraceMs: 2 * 3_600_000 }));
    expect(early.summary.stragglers).toBe(0);
    expect(fleetExitCode(early)).toBe(0);
  });

  it('a silent host is counted silent, never a straggler', () => {
    const v = buildFleet(input([rec('a'), rec('gone', { target: { commit: C1 } }, 3_600_000)]));
    expect(v.hosts.find((h) => h.host === 'gone')).toMatchObject({ state: 'silent', straggler: false });
  });

  it('rollout: a stack rolled back after a failed health gate counts as rolled back, not pending', () => {
    const back = stack('web', { deployed: { commit: C1, ref: 'v1.0.0' }, sync: 'OutOfSync', health: 'Healthy', last: { action: 'rollback', result: 'succeeded', at: ago(0) } });
    expect(rolledBack(back)).toBe(true);
    const v = buildFleet(input([rec('a'), rec('b', { stacks: [back, stack('db')] }), rec('c', { stacks: [stack('web', { deployed: { commit: C1 }, sync: 'OutOfSync' }), stack('db')] })]));
    expect(v.newest).toMatchObject({ hosts: 3, synced: 1, rolledBack: 1, pending: 1 });
    expect(v.hosts.find((h) => h.host === 'b')?.counts.rolledBack).toBe(1);
  });

  it('drift counts per stack across the fleet', () => {
    const v = buildFleet(
      input([
        rec('a', { stacks: [stack('web', { sync: 'OutOfSync', findings: 3, worstKind: 'config-drift', worstSeverity: 'warning' }), stack('db')] }),
        rec('b', { stacks: [stack('web', { health: 'Degraded', findings: 1 })] }),
      ]),
    );
    expect(v.stackSummary).toEqual([
      { stack: 'db', hosts: 1, outOfSync: 0, unhealthy: 0, findings: 0 },
      { stack: 'web', hosts: 2, outOfSync: 1, unhealthy: 1, findings: 4 },
    ]);
    expect(v.summary.outOfSync).toBe(2);
  });

  it('a target error makes a host out of sync', () => {
    const v = buildFleet(input([rec('a', { targetError: 'git unreachable' })]));
    expect(v.hosts[0]?.state).toBe('out-of-sync');
  });

  it('the newest target is the one first seen most recently, whatever its name', () => {
    const v = buildFleet(input([rec('a', { target: { commit: C1, ref: 'v9.9.9' } }), rec('b')]));
    expect(v.newest?.commit).toBe(C2);
  });

  it('prototype-key host and stack names are plain data', () => {
    const v = buildFleet(input([rec('constructor', { stacks: [stack('constructor'), stack('tostring')] }), rec('hasOwnProperty')]));
    expect(v.hosts.map((h) => h.host)).toEqual(['constructor', 'hasOwnProperty']);
    expect(v.stacks).toEqual(['constructor', 'db', 'tostring', 'web']);
  });
});

describe('fleet filters and paging', () => {
  const v = buildFleet(
    input(
      [
        ...Array.from({ length: 250 }, (_, i) => rec(`web-${String(i).padStart(3, '0')}`)),
        rec('db-001', { stacks: [stack('postgres', { sync: 'OutOfSync' })] }),
        rec('db-002', { stacks: [stack('postgres')] }, 3_600_000),
      ],
      { knownHosts: [] },
    ),
  );
  const all = { status: 'all' as const, offset: 0, limit: 200 };
  it('pages 200 rows at a time and says how many matched', () => {
    const p1 = filterFleet(v, all);
    expect(p1.matched).toBe(252);
    expect(p1.hosts).toHaveLength(200);
    expect(filterFleet(v, { ...all, offset: 200 }).hosts).toHaveLength(52);
  });
  it('by host substring (case-insensitive), by stack (column and hosts), by status', () => {
    expect(filterFleet(v, { ...all, host: 'DB-' }).hosts.map((h) => h.host)).toEqual(['db-001', 'db-002']);
    const pg = filterFleet(v, { ...all, stack: 'postgres' });
    expect(pg.stacks).toEqual(['postgres']);
    expect(pg.matched).toBe(2);
    expect(filterFleet(v, { ...all, status: 'out-of-sync' }).hosts.map((h) => h.host)).toEqual(['db-001']);
    expect(filterFleet(v, { ...all, status: 'silent' }).hosts.map((h) => h.host)).toEqual(['db-002']);
    expect(filterFleet(v, { ...all, status: 'problems' }).matched).toBe(2);
    expect(filterFleet(v, { ...all, status: 'synced' }).matched).toBe(250);
  });
});

describe('the report schema (outside input)', () => {
  const ok = report('web-01');
  it('accepts a real document', () => expect(reportSchema.safeParse(ok).success).toBe(true));
  it.each([
    ['a stack named <script>', { stacks: [stack('<script>')] }],
    ['a stack named __proto__', { stacks: [stack('__proto__')] }],
    ['a stack twice', { stacks: [stack('web'), stack('web')] }],
    ['a host with a space', { host: 'web 01' }],
    ['an unknown sync status', { stacks: [stack('web', { sync: 'constructor' as never })] }],
    ['a short commit', { target: { commit: 'abc' } }],
    ['too many stacks', { stacks: Array.from({ length: 501 }, (_, i) => stack(`s${i}`)) }],
    ['an overlong reason', { stacks: [stack('web', { reason: 'x'.repeat(2001) })] }],
    ['another schema version', { schemaVersion: 2 as never }],
  ])('refuses %s', (_what, over) => {
    expect(reportSchema.safeParse({ ...ok, ...over }).success).toBe(false);
  });
  it('drops unknown keys, including __proto__ from JSON', () => {
    const parsed = reportSchema.parse(JSON.parse(`{"__proto__":{"polluted":true},"extra":1,${JSON.stringify(ok).slice(1)}`));
    expect(Object.keys(parsed)).not.toContain('extra');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });
});

describe('agent tokens file', () => {
  const T = (n: number): string => `token-${String(n).padStart(12, '0')}`;
  it('maps each token to its one host; an unknown token maps to none', () => {
    const t = agentTokens(parseAgentTokens(`web-01: ${T(1)}\nconstructor: ${T(2)}\n`, 'f'));
    expect(t.hostOf(T(1))).toBe('web-01');
    expect(t.hostOf(T(2))).toBe('constructor');
    expect(t.hostOf('toString')).toBeUndefined();
    expect(t.hosts).toEqual(['constructor', 'web-01']);
  });
  it.each([
    ['a list', '- a\n- b\n'],
    ['a short token', 'web-01: short\n'],
    ['a shared token', `a: ${T(1)}\nb: ${T(1)}\n`],
    ['a bad host name', `"<script>": ${T(1)}\n`],
    ['a duplicate host', `a: ${T(1)}\na: ${T(2)}\n`],
    ['an alias', `a: &x ${T(1)}\nb: *x\n`],
  ])('refuses %s, naming the file and never the token', (_w, text) => {
    let message = '';
    try {
      parseAgentTokens(text, '/etc/driftd/agents.yaml');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('/etc/driftd/agents.yaml');
    expect(message).not.toContain(T(1));
  });
});
