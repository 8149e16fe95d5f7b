import { describe, expect, it } from 'vitest';
import { parseFleet } from '../../../src/compose/fleet.js';
import { checkStackPolicy, describeViolations } from '../../../src/policy/check.js';
import { effectivePolicy, underAllowedPath } from '../../../src/policy/effective.js';
import { policyViolations, type PolicyService } from '../../../src/policy/rules.js';
import { POLICY_RULES, securityPolicySchema, type PolicyRule } from '../../../src/policy/schema.js';
import { planSync } from '../../../src/sync/plan.js';
import { brief, compose, lint } from '../validate/helpers.js';
import { input, liveOf, service, stack, target } from '../sync/fixtures.js';

const svc = (over: Partial<PolicyService> & { raw?: Record<string, unknown> }): PolicyService => ({ name: 'app', privileged: false, mounts: [], raw: {}, ...over });
const one = (s: PolicyService, model: Record<string, unknown> = {}) => ({ name: 'st', services: [s], model, policy: {} });

/** A service that breaks exactly one rule. */
const BREAKS: Record<PolicyRule, PolicyService> = {
  privileged: svc({ privileged: true }),
  capAdd: svc({ raw: { cap_add: ['NET_ADMIN'] } }),
  hostNetwork: svc({ networkMode: 'host' }),
  hostPid: svc({ raw: { pid: 'host' } }),
  hostIpc: svc({ raw: { ipc: 'host' } }),
  devices: svc({ raw: { devices: ['/dev/kvm:/dev/kvm'] } }),
  dockerSocket: svc({ mounts: [{ type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock' }] }),
  hostBindMounts: svc({ mounts: [{ type: 'bind', source: '/srv/data', target: '/data' }] }),
};

describe('policy rules', () => {
  it.each(POLICY_RULES)('%s: found, named with the service, refused only under enforce, off when both host and repo say false', (rule) => {
    const s = one(BREAKS[rule]);
    const rulesOf = (host: object, repo?: object) => checkStackPolicy(host, { ...s, policy: repo ? { security: repo } : {} });
    // The socket is a host path too: both rules fire for it unless the path is allowed.
    const expected = rule === 'dockerSocket' ? ['dockerSocket', 'hostBindMounts'] : [rule];
    const warn = rulesOf({});
    expect(warn.violations.map((v) => v.rule)).toEqual(expected);
    expect(warn.violations[0]?.message).toMatch(new RegExp(`^service app .*\\(policy rule ${rule}\\)$`));
    expect(warn.refused).toBe(false);
    const enforce = rulesOf({ mode: 'enforce' });
    expect(enforce.refused).toBe(true);
    expect(describeViolations(enforce.violations)).toContain(`service app: ${rule}`);
    // Off on the host: a repo that says nothing keeps it off; a repo may turn it back on.
    expect(rulesOf({ mode: 'enforce', [rule]: false }).violations.filter((v) => v.rule === rule)).toEqual([]);
    expect(rulesOf({ mode: 'enforce', [rule]: false }, { [rule]: true }).violations.map((v) => v.rule)).toContain(rule);
    // On on the host: a repo cannot turn it off.
    expect(rulesOf({ mode: 'enforce' }, { [rule]: false }).violations.map((v) => v.rule)).toContain(rule);
  });

  it('a clean service breaks nothing', () => {
    const clean = svc({ raw: { cap_add: [], devices: [], pid: 'container:x', ipc: 'shareable' }, networkMode: 'bridge', mounts: [{ type: 'bind', source: './conf', target: '/c' }, { type: 'volume', source: 'data', target: '/d' }] });
    expect(policyViolations(one(clean, { volumes: { data: {} } }), effectivePolicy({ mode: 'enforce' }, undefined))).toEqual([]);
  });

  it.each([
    ['/var/run/docker.sock', true],
    ['/run/docker.sock', true],
    ['/var/run', true],
    ['/run/', true],
    ['/', true],
    ['/var', true],
    ['/home/me/.docker/run/docker.sock', true],
    ['/run/containerd/containerd.sock', true],
    ['/var/run/../run/docker.sock', true],
    ['/srv/app', false],
    ['/var/lib/app', false],
  ])('dockerSocket: %s → %s', (source, hit) => {
    const s = one(svc({ mounts: [{ type: 'bind', source, target: '/x' }] }));
    const rules = policyViolations(s, effectivePolicy({ hostBindMounts: false }, undefined)).map((v) => v.rule);
    expect(rules.includes('dockerSocket')).toBe(hit);
  });

  it('a named volume the local driver binds to a host folder is a host bind mount', () => {
    const s = one(svc({ mounts: [{ type: 'volume', source: 'sock', target: '/s' }] }), { volumes: { sock: { driver: 'local', driver_opts: { type: 'none', o: 'bind', device: '/var/run' } } } });
    expect(policyViolations(s, effectivePolicy({}, undefined)).map((v) => v.rule)).toEqual(['dockerSocket', 'hostBindMounts']);
  });

  it('allowedHostPaths: the host list allows, a repo list may only narrow it', () => {
    const s = one(svc({ mounts: [{ type: 'bind', source: '/srv/data/app', target: '/d' }, { type: 'bind', source: '/etc', target: '/e' }] }));
    const bindRules = (host: object, repo?: object) => policyViolations(s, effectivePolicy(host, repo)).map((v) => v.mount?.source);
    expect(bindRules({})).toEqual(['/srv/data/app', '/etc']);
    expect(bindRules({ allowedHostPaths: ['/srv/data'] })).toEqual(['/etc']);
    expect(bindRules({ allowedHostPaths: ['/srv/data'] }, { allowedHostPaths: ['/etc', '/srv/data'] })).toEqual(['/etc']);
    expect(bindRules({ allowedHostPaths: ['/srv/data', '/etc'] }, { allowedHostPaths: ['/etc'] })).toEqual(['/srv/data/app']);
  });

  it.each([
    ['/srv/data', ['/srv/data'], true],
    ['/srv/data/x', ['/srv/data/'], true],
    ['/srv/database', ['/srv/data'], false],
    ['/srv/data/../../etc', ['/srv/data'], false],
    ['/anything', ['/'], true],
    ['~/cache', ['/home'], false],
  ])('underAllowedPath(%s, %j) → %s', (source, allowed, want) => expect(underAllowedPath(source, allowed)).toBe(want));

  it('the host config decides the mode: a repo may turn warn into enforce, never enforce into warn', () => {
    expect(effectivePolicy({ mode: 'enforce' }, { mode: 'warn' }).mode).toBe('enforce');
    expect(effectivePolicy({ mode: 'warn' }, { mode: 'enforce' }).mode).toBe('enforce');
    expect(effectivePolicy(undefined, undefined).mode).toBe('warn');
  });

  it('the schema refuses unknown rules and relative allowed paths', () => {
    expect(securityPolicySchema().safeParse({ mode: 'enforce', priviledged: true }).success).toBe(false);
    expect(securityPolicySchema().safeParse({ mode: 'block' }).success).toBe(false);
    expect(securityPolicySchema().safeParse({ allowedHostPaths: ['srv'] }).success).toBe(false);
    expect(securityPolicySchema().safeParse({ mode: 'enforce', capAdd: false, allowedHostPaths: ['/srv'] }).success).toBe(true);
  });

  it('fleet.yaml carries a per-stack policy', () => {
    const fleet = parseFleet('stacks:\n  edge:\n    policy: {mode: enforce, allowedHostPaths: [/srv]}\n');
    expect(fleet.policies.edge?.security).toEqual({ mode: 'enforce', allowedHostPaths: ['/srv'] });
    expect(() => parseFleet('stacks:\n  edge:\n    policy: {mode: off}\n')).toThrow(/fleet\.yaml/);
  });
});

describe('validate uses the same rules', () => {
  const FILE = 'stacks/app/compose.yaml';
  const text = compose('services:', '  app:', '    image: nginx:1.27.3', '    cap_add: [NET_ADMIN]', '    pid: host', '    ipc: host', '    devices: ["/dev/fuse:/dev/fuse"]', '    volumes:', '      - /var/run/docker.sock:/var/run/docker.sock');
  it('warn: warnings at each line', async () => {
    const r = await lint({ [FILE]: text });
    expect(r.findings.map(brief)).toEqual([`${FILE}:4 cap-add`, `${FILE}:5 host-pid`, `${FILE}:6 host-ipc`, `${FILE}:7 devices`, `${FILE}:9 docker-socket`, `${FILE}:9 host-bind-mount`]);
    expect(new Set(r.findings.map((f) => f.severity))).toEqual(new Set(['warning']));
  });
  it('enforce (from fleet.yaml): errors, and the validate.* switches no longer hide them', async () => {
    const r = await lint({ [FILE]: text, 'fleet.yaml': 'stacks:\n  app:\n    policy: {mode: enforce}\n' }, { hostBindMounts: false });
    expect(r.findings.map((f) => `${f.kind} ${f.severity}`)).toContain('host-bind-mount error');
    expect(new Set(r.findings.map((f) => f.severity))).toEqual(new Set(['error']));
  });
});

describe('sync plan', () => {
  it('refuses a stack the policy refuses, whatever else it would do; others proceed', () => {
    const bad = stack('bad', [service('a', 'h1')]);
    const good = stack('good', [service('a', 'h1')]);
    const plan = planSync(input({ targets: [target(bad), target(good)], live: { bad: liveOf(bad) }, refused: new Map([['bad', 'service a: privileged']]) }));
    expect(plan.stacks.map((p) => [p.stack, p.action, p.problem ?? false])).toEqual([
      ['bad', 'refuse', true],
      ['good', 'deploy', false],
    ]);
    expect(plan.stacks[0]?.reason).toBe('refused by policy (enforce): service a: privileged');
  });
});
