import { afterAll, describe, expect, it } from 'vitest';
import { parseFleet } from '../../../src/compose/fleet.js';
import { loadDesiredState } from '../../../src/compose/load-desired-state.js';
import { cleanupTrees, makeTree } from '../compose/fixture.js';
import { brief, compose, lint } from '../validate/helpers.js';

afterAll(cleanupTrees);

const revision = { commit: 'c0ffee', ref: 'v1.0.0', refKind: 'tag' as const };
const FLEET = ['hosts:', '  "*": [web, api]', 'swarm:', '  managers: [mgr-1]', 'stacks:', '  api:', '    engine: swarm', ''].join('\n');
const tree = (fleet = FLEET) => ({
  'fleet.yaml': fleet,
  'stacks/web/compose.yaml': 'services: {app: {image: "x:1"}}\n',
  'stacks/api/compose.yaml': 'services: {app: {image: "y:1"}}\n',
});

describe('fleet.yaml engine: swarm', () => {
  it('parses engine per stack (default Compose) and swarm.managers', () => {
    const fleet = parseFleet(FLEET);
    expect(fleet.policies.api?.engine).toBe('swarm');
    expect(fleet.policies.web).toBeUndefined();
    expect(fleet.swarmManagers).toEqual(['mgr-1']);
    expect(fleet.swarmLines).toEqual({ api: 7 });
    expect(parseFleet('stacks:\n  a: {engine: compose}\n').policies.a?.engine).toBeUndefined();
  });

  it.each([
    ['an unknown engine', 'stacks:\n  a:\n    engine: kubernetes\n', /fleet\.yaml.*stacks\.a\.engine/s],
    ['swarm without managers', 'swarm: {}\n', /swarm\.managers/],
    ['an unknown swarm key', 'swarm: {managers: [m], leader: m}\n', /leader/],
  ])('refuses %s with the file and key', (_name, text, re) => {
    expect(() => parseFleet(text)).toThrow(re);
  });

  it('on a manager, a swarm stack loads with engine: swarm beside the Compose stack', async () => {
    const state = await loadDesiredState({ root: makeTree(tree()), host: 'mgr-1', revision });
    expect(state.stacks.map((s) => [s.name, s.policy.engine])).toEqual([['api', 'swarm'], ['web', undefined]]);
    expect(state.errors).toEqual([]);
  });

  it('on a host that is not a manager, a swarm stack is not this host’s at all', async () => {
    const state = await loadDesiredState({ root: makeTree(tree()), host: 'worker-1', revision });
    expect(state.stacks.map((s) => s.name)).toEqual(['web']);
    expect(state.errors).toEqual([]);
  });

  it('without swarm.managers every host considers the swarm stack (the leader rule decides who applies)', async () => {
    const state = await loadDesiredState({ root: makeTree(tree(FLEET.replace('swarm:\n  managers: [mgr-1]\n', ''))), host: 'any', revision });
    expect(state.stacks.map((s) => s.name)).toEqual(['api', 'web']);
  });
});

describe('validate on engine: swarm stacks', () => {
  const swarmFleet = 'stacks:\n  api: {engine: swarm}\n';
  const API = 'stacks/api/compose.yaml';

  it('reports what Swarm refuses or drops, with file and line, for the swarm stack only', async () => {
    const file = compose(
      'services:',
      '  app:',
      '    image: registry.example/app:1.2',
      '    build: .',
      '    restart: always',
      '    privileged: true',
      '    ports:',
      '      - "127.0.0.1:8080:80"',
      '    depends_on:',
      '      db: {condition: service_healthy}',
      '  db:',
      '    image: postgres:16.4',
    );
    const result = await lint({ 'fleet.yaml': swarmFleet, [API]: file, 'stacks/web/compose.yaml': file }, { privileged: false });
    const swarm = result.findings.filter((f) => f.kind.startsWith('swarm-')).map(brief);
    expect(swarm).toEqual([`${API}:4 swarm-unsupported`, `${API}:5 swarm-ignored`, `${API}:6 swarm-unsupported`, `${API}:8 swarm-unsupported`, `${API}:9 swarm-unsupported`]);
    expect(result.exitCode).toBe(2);
  });

  it('a Swarm-ready stack gives no swarm finding', async () => {
    const file = compose('services:', '  app:', '    image: registry.example/app:1.2', '    deploy:', '      replicas: 3', '      restart_policy: {condition: on-failure}', '    ports: ["8080:80"]');
    const result = await lint({ 'fleet.yaml': swarmFleet, [API]: file });
    expect(result.findings.filter((f) => f.kind.startsWith('swarm-'))).toEqual([]);
  });

  it('finds a key written in an override file at its line there', async () => {
    const result = await lint({
      'fleet.yaml': swarmFleet,
      [API]: compose('services:', '  app:', '    image: registry.example/app:1.2'),
      'stacks/api/compose.override.yaml': compose('services:', '  app:', '    container_name: api'),
    });
    expect(result.findings.filter((f) => f.kind.startsWith('swarm-')).map(brief)).toEqual(['stacks/api/compose.override.yaml:3 swarm-ignored']);
  });
});
