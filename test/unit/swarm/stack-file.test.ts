import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadDesiredState } from '../../../src/compose/load-desired-state.js';
import { toComposeYaml } from '../../../src/compose/render.js';
import type { DesiredStack } from '../../../src/compose/model.js';
import { LABEL_CONTENT_HASH, renderSwarmStack, STACK_NAMESPACE_LABEL, stackDeployArgs, staleSwarmObjects } from '../../../src/swarm/stack-file.js';
import { sha256 } from '../../../src/util/hash.js';
import { cleanupTrees, makeTree, type Tree } from '../compose/fixture.js';

afterAll(cleanupTrees);

const revision = { commit: 'c0ffee1234', ref: 'v1.0.0', refKind: 'tag' as const };
const DIGEST = `sha256:${'a'.repeat(64)}`;

const COMPOSE = `
services:
  web:
    image: reg.example/web:1.0
    environment: {GREETING: "cost $$5", MODE: prod}
    labels: {team: edge}
    configs: [{source: app, target: /etc/app.conf}]
    secrets: [token]
    deploy: {replicas: 2, labels: {tier: front}}
  worker:
    image: reg.example/worker:2
    configs: [shared]
configs:
  app: {file: ./app.conf}
  shared: {external: true}
secrets:
  token: {file: ./token.txt}
`;

async function load(files: Tree): Promise<{ stack: DesiredStack; dir: string }> {
  const root = makeTree(files);
  const state = await loadDesiredState({ root, host: 'h', revision });
  expect(state.errors).toEqual([]);
  return { stack: state.stacks[0]!, dir: path.join(root, 'stacks', 'edge') };
}

const base = (conf = 'listen 80\n'): Tree => ({
  'stacks/edge/compose.yaml': COMPOSE,
  'stacks/edge/app.conf': conf,
  'stacks/edge/token.txt': 's3cr3t-token-value\n',
});

async function render(files: Tree = base()) {
  const { stack, dir } = await load(files);
  const reader = (rel: string) => readFileSync(path.join(dir, rel));
  return { stack, out: renderSwarmStack(stack, { revision: revision.commit, ref: revision.ref, readFile: reader }) };
}

type Svc = { image: string; labels?: Record<string, string>; deploy: { labels: Record<string, string>; replicas?: number }; environment: Record<string, string> };

describe('renderSwarmStack', () => {
  it('stamps driftd labels on the service (deploy.labels), keeps the user labels on containers', async () => {
    const { stack, out } = await render(base());
    const web = (out.model.services as Record<string, Svc>).web!;
    const hash = stack.services.find((s) => s.name === 'web')!.configHash;
    expect(web.deploy.labels).toEqual({ tier: 'front', 'io.driftd.stack': 'edge', 'io.driftd.revision': revision.commit, 'io.driftd.ref': 'v1.0.0', 'io.driftd.config-hash': hash });
    expect(web.labels).toEqual({ team: 'edge' });
    expect(web.deploy.replicas).toBe(2);
    const worker = (out.model.services as Record<string, Svc>).worker!;
    expect(worker.labels).toBeUndefined();
    expect(worker.deploy.labels['io.driftd.config-hash']).toBe(stack.services.find((s) => s.name === 'worker')!.configHash);
  });

  it('keeps an unchanged service on the revision it runs (serviceRevisions)', async () => {
    const { stack, dir } = await load(base());
    const out = renderSwarmStack(stack, { revision: 'new', ref: 'v2', readFile: (r) => readFileSync(path.join(dir, r)), serviceRevisions: { worker: { revision: 'old', ref: 'v1' } } });
    const services = out.model.services as Record<string, Svc>;
    expect(services.worker!.deploy.labels['io.driftd.revision']).toBe('old');
    expect(services.web!.deploy.labels['io.driftd.revision']).toBe('new');
  });

  it('names file configs and secrets by content hash; external ones keep their name', async () => {
    const { out } = await render(base());
    const hash = sha256(Buffer.from('listen 80\n')).slice(0, 12);
    const tokenHash = sha256(Buffer.from('s3cr3t-token-value\n')).slice(0, 12);
    expect(out.objects).toEqual({ configs: [`edge_app_${hash}`, 'edge_shared'], secrets: [`edge_token_${tokenHash}`] });
    const configs = out.model.configs as Record<string, { name?: string; labels?: Record<string, string>; external?: boolean }>;
    expect(configs.app).toMatchObject({ file: './app.conf', name: `edge_app_${hash}`, labels: { [LABEL_CONTENT_HASH]: hash } });
    expect(configs.shared).toEqual({ external: true });
  });

  it('a changed file rotates its config (new name), the other objects keep theirs', async () => {
    const a = (await render(base('listen 80\n'))).out.objects;
    const b = (await render(base('listen 8080\n'))).out.objects;
    expect(a.configs[0]).not.toBe(b.configs[0]);
    expect(a.configs[1]).toBe(b.configs[1]);
    expect(a.secrets).toEqual(b.secrets);
  });

  it('writes YAML that reads back to the same values, $ escaped for the CLI’s own interpolation', async () => {
    const { out } = await render(base());
    const back = parse(toComposeYaml(out.model)) as { services: Record<string, Svc> };
    expect(back.services.web!.environment.GREETING).toBe('cost $$5');
    expect(back.services.web!.image).toBe('reg.example/web:1.0');
  });

  it('uses the lock pin (name:tag@digest) as the image', async () => {
    const lock = JSON.stringify({ version: 1, stack: 'edge', composeSha256: 'b'.repeat(64), images: { 'reg.example/web:1.0': { digest: DIGEST } } });
    const files = { ...base(), 'locks/edge.lock.json': lock };
    const { stack, out } = await render(files);
    const web = stack.services.find((s) => s.name === 'web')!;
    const img = (out.model.services as Record<string, Svc>).web!.image;
    expect(img).toBe(web.pinnedImage ?? web.image);
    expect(img).toBe(`reg.example/web:1.0@${DIGEST}`);
  });

  it('does not take a label named __proto__ for a prototype', async () => {
    const files = { ...base(), 'stacks/edge/compose.yaml': COMPOSE.replace('labels: {team: edge}', 'labels: {__proto__: x, team: edge}') };
    const { out } = await render(files);
    const web = (out.model.services as Record<string, Svc>).web!;
    expect(Object.prototype.hasOwnProperty.call(web.labels, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(web.deploy.labels)).toBe(Object.prototype);
  });
});

describe('staleSwarmObjects', () => {
  const obj = (name: string, stack: string, hash?: string) => ({ id: name, name, labels: { [STACK_NAMESPACE_LABEL]: stack, ...(hash ? { [LABEL_CONTENT_HASH]: hash } : {}) } });
  it('lists hashed objects of the stack that this revision no longer uses', () => {
    const live = [obj('edge_app_new', 'edge', 'new'), obj('edge_app_old', 'edge', 'old'), obj('edge_plain', 'edge'), obj('other_app_old', 'other', 'old')];
    expect(staleSwarmObjects('edge', live, ['edge_app_new']).map((o) => o.name)).toEqual(['edge_app_old']);
  });
  it('never lists objects without the namespace label (the operator’s external ones)', () => {
    expect(staleSwarmObjects('edge', [{ id: '1', name: 'x', labels: { [LABEL_CONTENT_HASH]: 'h' } }], [])).toEqual([]);
  });
});

describe('stackDeployArgs', () => {
  it('is an argv array with prune, changed-image resolution and registry auth', () => {
    expect(stackDeployArgs('/d/driftd.stack.yaml', 'edge; rm -rf /')).toEqual([
      'stack', 'deploy', '--prune', '--resolve-image', 'changed', '--with-registry-auth', '--detach=true', '-c', '/d/driftd.stack.yaml', 'edge; rm -rf /',
    ]);
  });
});
