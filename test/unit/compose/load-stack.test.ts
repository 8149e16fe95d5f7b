import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DriftdError, isLoadErrorData, type LoadError } from '../../../src/errors/index.js';
import { loadStack, type LoadStackOptions } from '../../../src/compose/load-stack.js';
import type { DesiredService, DesiredStack } from '../../../src/compose/model.js';
import { sha256 } from '../../../src/util/hash.js';
import { cleanupTrees, makeTree, writeTree, type Tree } from './fixture.js';
import { loadScaledBudget } from '../../support/budget.js';

afterAll(cleanupTrees);

const load = (files: Tree, opts: Partial<LoadStackOptions> = {}): Promise<DesiredStack> => loadStack({ root: makeTree(files), name: 's', ...opts });
const svc = (stack: DesiredStack, name: string): DesiredService => {
  const found = stack.services.find((x) => x.name === name);
  if (!found) throw new Error(`no service ${name}`);
  return found;
};
const compose = (text: string, extra: Tree = {}): Tree => ({ 'stacks/s/compose.yaml': text, ...extra });

async function loadError(files: Tree, opts: Partial<LoadStackOptions> = {}): Promise<LoadError> {
  try {
    await load(files, opts);
  } catch (e) {
    if (e instanceof DriftdError && isLoadErrorData(e.data)) return e as LoadError;
    throw e;
  }
  throw new Error('expected the stack to fail');
}

describe('interpolation sources', () => {
  const text = 'services:\n  a:\n    image: "app:${TAG}"\n    environment:\n      FROM: "${FROM:-default}"\n      HOME_DIR: "${HOME:-none}"\n';

  it('uses the stack .env', async () => {
    const s = await load(compose(text, { 'stacks/s/.env': 'TAG=1.0\nFROM=dotenv\n' }));
    expect(svc(s, 'a').image).toBe('app:1.0');
    expect(svc(s, 'a').environment).toEqual({ FROM: 'dotenv', HOME_DIR: 'none' });
  });

  it('the host-local env file wins over .env, and may refer to .env values', async () => {
    const envDir = makeTree({ 's.env': 'FROM=host-${TAG}\n' });
    const s = await load(compose(text, { 'stacks/s/.env': 'TAG=1.0\nFROM=dotenv\n' }), { envDir });
    expect(svc(s, 'a').environment.FROM).toBe('host-1.0');
  });

  it('the process environment does not leak in unless allowed, and then wins', async () => {
    const processEnv = { TAG: 'proc', HOME: '/root' };
    const files = compose(text, { 'stacks/s/.env': 'TAG=1.0\n' });
    const sealed = await load(files, { processEnv });
    expect(svc(sealed, 'a').image).toBe('app:1.0');
    expect(svc(sealed, 'a').environment.HOME_DIR).toBe('none');
    const open = await load(files, { processEnv, allowProcessEnv: true });
    expect(svc(open, 'a').image).toBe('app:proc');
    expect(svc(open, 'a').environment.HOME_DIR).toBe('/root');
    expect(open.inputsHash).not.toBe(sealed.inputsHash);
  });

  it('interpolates values, never keys', async () => {
    const s = await load(compose('services:\n  a:\n    image: x\n    labels:\n      "${K}": "${V}"\n', { 'stacks/s/.env': 'K=key\nV=value\n' }));
    expect(svc(s, 'a').labels).toEqual({ '${K}': 'value' });
  });

  it('$$ is a literal dollar', async () => {
    const s = await load(compose('services:\n  a:\n    image: x\n    command: ["echo", "$$HOME", "$${X}"]\n'));
    expect(svc(s, 'a').command).toEqual(['echo', '$HOME', '${X}']);
  });

  it('casts interpolated values at typed paths', async () => {
    const s = await load(
      compose('services:\n  a:\n    image: x\n    privileged: ${PRIV}\n    deploy:\n      replicas: ${N}\n    healthcheck:\n      test: ["CMD", "true"]\n      retries: ${R}\n', {
        'stacks/s/.env': 'PRIV=true\nN=3\nR=5\n',
      }),
    );
    expect(svc(s, 'a').privileged).toBe(true);
    expect(svc(s, 'a').replicas).toBe(3);
    expect(svc(s, 'a').healthcheck?.retries).toBe(5);
  });

  it('warns about variables that are not set', async () => {
    const s = await load(compose('services:\n  a:\n    image: "x:${NOPE}"\n    user: "${ALSO_NOPE:-u}"\n'));
    expect(s.warnings).toEqual(['the variable NOPE is not set; it was replaced by an empty string']);
  });

  it.each([
    ['services:\n  a:\n    image: x\n    environment:\n      A: "${ foo}"\n', 'InterpolationError', 5, 'invalid interpolation format for services.a.environment.A; write a literal $ as $$'],
    ['services:\n  a:\n    image: "${IMG:?set IMG in the host env file}"\n', 'InterpolationError', 3, 'required variable IMG is missing a value: set IMG in the host env file'],
    ['services:\n  a:\n    image: x\n    privileged: "${P:-maybe}"\n', 'ComposeLoadError', 4, 'failed to cast to expected type: not a boolean'],
  ])('%j fails with %s at line %d', async (text, code, line, message) => {
    const e = await loadError(compose(text));
    expect(e.code).toBe(code);
    expect(e.data.file).toBe('stacks/s/compose.yaml');
    expect(e.data.line).toBe(line);
    expect(e.message).toContain(`stacks/s/compose.yaml:${line}: `);
    expect(e.message).toContain(message);
  });

  it('a broken .env names its file and line', async () => {
    const e = await loadError(compose('services: {a: {image: x}}\n', { 'stacks/s/.env': 'A=1\nB="unterminated\n' }));
    expect(e.data).toMatchObject({ file: 'stacks/s/.env', line: 2 });
    expect(e.message).toContain('unterminated quoted value');
  });
});

describe('env_file', () => {
  it('expands env_file first, then environment overrides; env_file keys and secret-looking keys are secret', async () => {
    const s = await load(
      compose('services:\n  a:\n    image: x\n    env_file: [app.env, {path: opt.env, required: false}]\n    environment:\n      MODE: prod\n      DB_PASSWORD: pw\n      PLAIN: p\n', {
        'stacks/s/app.env': 'MODE=dev\nLEVEL=${LEVEL_DEFAULT}\nURL="http://${HOST}"\n',
        'stacks/s/.env': 'LEVEL_DEFAULT=info\nHOST=db\n',
      }),
    );
    const a = svc(s, 'a');
    expect(a.environment).toEqual({ MODE: 'prod', LEVEL: 'info', URL: 'http://db', DB_PASSWORD: 'pw', PLAIN: 'p' });
    expect(a.secretEnvKeys).toEqual(['DB_PASSWORD', 'LEVEL', 'MODE', 'URL']);
    expect(a.mountedFiles).toEqual(['app.env']);
    expect(a.raw.env_file).toBeUndefined();
    expect(a.raw.environment).toEqual(a.environment);
  });

  it('bare environment keys take the value from the interpolation variables, or are dropped', async () => {
    const s = await load(compose('services:\n  a:\n    image: x\n    environment: [FROM_DOTENV, UNSET]\n', { 'stacks/s/.env': 'FROM_DOTENV=yes\n' }));
    expect(svc(s, 'a').environment).toEqual({ FROM_DOTENV: 'yes' });
  });

  it.each([
    ['env_file: missing.env', 'env_file stacks/s/missing.env of service a does not exist'],
    ['env_file: ../other/x.env', 'leaves the stack folder'],
    ['env_file: /etc/app.env', 'is outside the stack folder'],
    ['env_file: {path: a.env, format: raw}', 'format is not supported'],
  ])('%s is refused', async (line, message) => {
    const e = await loadError(compose(`services:\n  a:\n    image: x\n    ${line}\n`, { 'stacks/s/a.env': 'A=1\n' }));
    expect(e.message).toContain(message);
  });
});

describe('discovery and override', () => {
  it.each([
    [{ 'stacks/s/compose.yml': 'services: {a: {image: yml}}' }, 'yml', ['stacks/s/compose.yml']],
    [{ 'stacks/s/docker-compose.yml': 'services: {a: {image: dc}}' }, 'dc', ['stacks/s/docker-compose.yml']],
    [{ 'stacks/s/docker-compose.yaml': 'services: {a: {image: dcy}}' }, 'dcy', ['stacks/s/docker-compose.yaml']],
    [
      { 'stacks/s/compose.yaml': 'services: {a: {image: main}}', 'stacks/s/docker-compose.yml': 'services: {a: {image: old}}' },
      'main',
      ['stacks/s/compose.yaml'],
    ],
    [
      { 'stacks/s/compose.yaml': 'services: {a: {image: main}}', 'stacks/s/compose.override.yaml': 'services: {a: {image: over}}' },
      'over',
      ['stacks/s/compose.yaml', 'stacks/s/compose.override.yaml'],
    ],
    [
      { 'stacks/s/docker-compose.yml': 'services: {a: {image: main}}', 'stacks/s/docker-compose.override.yml': 'services: {a: {image: over}}' },
      'over',
      ['stacks/s/docker-compose.yml', 'stacks/s/docker-compose.override.yml'],
    ],
  ] as [Tree, string, string[]][])('%j', async (files, image, composeFiles) => {
    const s = await load(files);
    expect(svc(s, 'a').image).toBe(image);
    expect(s.composeFiles).toEqual(composeFiles);
  });

  it('warns about compose files it ignores', async () => {
    const s = await load({ 'stacks/s/compose.yaml': 'services: {a: {image: x}}', 'stacks/s/docker-compose.yml': 'services: {a: {image: y}}' });
    expect(s.warnings?.[0]).toContain('stacks/s/docker-compose.yml is ignored');
  });

  it('an error in the override file is located in the override file', async () => {
    const e = await loadError({
      'stacks/s/compose.yaml': 'services:\n  a:\n    image: x\n',
      'stacks/s/compose.override.yaml': 'services:\n  a:\n    ports:\n      - "x:80"\n',
    });
    expect(e.data).toMatchObject({ file: 'stacks/s/compose.override.yaml', line: 4 });
  });

  it('a merged value that fails is located in the override file that set it last', async () => {
    const e = await loadError({
      'stacks/s/compose.yaml': 'services:\n  a:\n    image: x\n    user: root\n',
      'stacks/s/compose.override.yaml': 'services:\n  a:\n    command: "a; b"\n',
    });
    expect(e.data).toMatchObject({ file: 'stacks/s/compose.override.yaml', line: 3 });
    const base = await loadError({
      'stacks/s/compose.yaml': 'services:\n  a:\n    image: x\n    scale: 2\n    deploy:\n      replicas: 3\n',
      'stacks/s/compose.override.yaml': 'services:\n  a:\n    user: root\n',
    });
    expect(base.data).toMatchObject({ file: 'stacks/s/compose.yaml', line: 4 });
  });

  it('a stack without a compose file fails clearly', async () => {
    const e = await loadError({ 'stacks/s/README.md': 'hi' });
    expect(e.message).toContain('has no compose file');
  });
});

describe('normalization', () => {
  it('normalizes a service', async () => {
    const s = await load(
      compose(
        `
services:
  web:
    image: nginx:1.27
    command: nginx -g "daemon off;"
    entrypoint: ["/docker-entrypoint.sh"]
    ports: ["127.0.0.1:8080:80/tcp", {target: 443, published: "8443"}]
    volumes: ["./conf:/etc/nginx/conf.d:ro", "data:/data", "/anon", "/var/log:/host-log", {type: bind, source: conf, target: /long}]
    labels: [a=1, "b"]
    healthcheck:
      test: curl -f http://localhost/
      interval: 1m30s
      timeout: 5s
      start_period: 500ms
      retries: 3
    restart: unless-stopped
    user: 1000
    working_dir: /app
    privileged: true
    networks: [front, back]
    scale: 2
  job:
    image: busybox
    network_mode: host
    healthcheck: {disable: true}
    deploy: {replicas: 0}
networks: {front: {}, back: {}}
volumes: {data: {}}
`,
        { 'stacks/s/conf/default.conf': 'server {}' },
      ),
    );
    const web = svc(s, 'web');
    expect(web).toMatchObject({
      image: 'nginx:1.27',
      command: ['nginx', '-g', 'daemon off;'],
      entrypoint: ['/docker-entrypoint.sh'],
      ports: [
        { target: 80, published: '8080', hostIp: '127.0.0.1', protocol: 'tcp' },
        { target: 443, published: '8443', protocol: 'tcp' },
      ],
      mounts: [
        { type: 'bind', source: './conf', target: '/etc/nginx/conf.d', readOnly: true },
        { type: 'volume', source: 'data', target: '/data', readOnly: false },
        { type: 'volume', target: '/anon', readOnly: false },
        { type: 'bind', source: '/var/log', target: '/host-log', readOnly: false },
        { type: 'bind', source: './conf', target: '/long', readOnly: false },
      ],
      labels: { a: '1', b: '' },
      healthcheck: { test: ['CMD-SHELL', 'curl -f http://localhost/'], intervalNs: 90e9, timeoutNs: 5e9, startPeriodNs: 5e8, retries: 3 },
      restart: 'unless-stopped',
      user: '1000',
      workingDir: '/app',
      privileged: true,
      networks: ['back', 'front'],
      replicas: 2,
      mountedFiles: ['conf/default.conf'],
    });
    expect(web.networkMode).toBeUndefined();
    expect(svc(s, 'job')).toMatchObject({ networks: [], networkMode: 'host', healthcheck: { disable: true, test: ['NONE'] }, replicas: 0, privileged: false });
    expect(svc(s, 'job').command).toBeUndefined();
    expect(s.services.map((x) => x.name)).toEqual(['job', 'web']);
  });

  it('defaults: networks [default], replicas 1', async () => {
    const s = await load(compose('services: {a: {image: x}}'));
    expect(svc(s, 'a')).toMatchObject({ networks: ['default'], replicas: 1, ports: [], mounts: [], environment: {}, labels: {}, secretEnvKeys: [] });
  });

  it.each([
    ['services: {a: {image: x, command: "echo a; echo b"}}', 'shell operator ";"'],
    ['services: {a: {build: .}}', 'has build: but no image:'],
    ['services: {a: {restart: always}}', 'has no image:'],
    ['services: {a: {image: x, profiles: [debug]}}', 'profiles is not supported'],
    ['services: {a: {image: x, volumes: ["data:/d"]}}', 'named volume "data" is not declared'],
    ['services: {a: {image: x, networks: [n]}}', 'network "n" is not declared'],
    ['services: {a: {image: x, network_mode: host, networks: [default]}}', 'network_mode and networks cannot be used together'],
    ['services: {a: {image: x, secrets: [s]}}', 'secret "s" is not declared'],
    ['services: {a: {image: x, scale: 2, deploy: {replicas: 3}}}', 'scale (2) and deploy.replicas (3) disagree'],
    ['services: {a: {image: x, healthcheck: {test: [curl, x]}}}', 'must start with "CMD", "CMD-SHELL" or "NONE"'],
    ['services: {a: {image: x, healthcheck: {interval: 30}}}', 'is not a duration'],
    ['services: {a: {image: x, volumes: ["../other:/x"]}}', 'leaves the stack folder'],
    ['services: {a: {image: x, volumes: [{type: bind, source: ../up, target: /x}]}}', 'leaves the stack folder'],
    ['services: {a: {image: x}}\nsecrets: {unused: {file: ../../etc/shadow}}', 'secrets.unused.file "../../etc/shadow" leaves the stack folder'],
    ['include: [other.yaml]\nservices: {a: {image: x}}', 'include: is not supported'],
    ['models: {}\nservices: {a: {image: x}}', 'top-level key "models" is not supported'],
    ['name: other\nservices: {a: {image: x}}', 'differs from the stack folder name'],
    ['services: {a: {image: x, extends: {file: b.yaml, service: b}}}', 'extends.file is not supported'],
    ['services:\n  a: !reset {}\n', 'YAML tag !reset is not supported'],
    ['services: {a: {image: x}}\n---\nservices: {b: {image: y}}\n', 'several YAML documents'],
    ['services: {}', 'defines no services'],
    ['- a\n- b\n', 'top level of a compose file must be a mapping'],
  ])('refuses %j', async (text, message) => {
    const e = await loadError(compose(text));
    expect(e.message).toContain(message);
    expect(e.data.file).toBe('stacks/s/compose.yaml');
  });

  it('accepts name: equal to the stack and drops version:, name: and x- keys from the model', async () => {
    const s = await load(compose('version: "3.8"\nname: s\nx-common: &c {restart: always}\nservices: {a: {image: x, <<: *c}}'));
    expect(Object.keys(s.model)).toEqual(['services']);
    expect(svc(s, 'a').restart).toBe('always');
  });
});

describe('safe file access', () => {
  it('refuses an invalid stack name, naming the folder', async () => {
    const root = makeTree({ 'stacks/Bad Name/compose.yaml': 'services: {a: {image: x}}' });
    await expect(loadStack({ root, name: 'Bad Name' })).rejects.toMatchObject({ code: 'InvalidStackName', message: expect.stringContaining('"Bad Name"') as unknown });
  });

  it.each([
    ['a symlink that leaves the stack', { 'stacks/s/leak': { symlink: '/etc/passwd' } }, 'UnsafePath', 'stacks/s/leak is a symlink that leaves the stack folder'],
    ['a symlink into a sibling stack', { 'stacks/t/x': 'x', 'stacks/s/x': { symlink: '../t/x' } }, 'UnsafePath', 'leaves the stack folder'],
    ['a dangling symlink', { 'stacks/s/gone': { symlink: 'nowhere' } }, 'UnsafePath', 'symlink to a missing path'],
    ['an oversized file', { 'stacks/s/big.bin': 'x'.repeat(2048) }, 'FileTooLarge', 'stacks/s/big.bin is 2048 bytes, over the 1024-byte limit'],
    ['a symlinked lock file', { 'locks/s.lock.json': { symlink: '/etc/hostname' } }, 'UnsafePath', 'locks/s.lock.json is a symlink'],
  ] as [string, Tree, string, string][])('refuses %s', async (_name, extra, code, message) => {
    const e = await loadError(compose('services: {a: {image: x}}', extra), { maxFileBytes: 1024 });
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
  });

  it('refuses a stack folder that is a symlink', async () => {
    const root = makeTree({ 'elsewhere/compose.yaml': 'services: {a: {image: x}}', 'stacks/s': { symlink: '../elsewhere' } });
    await expect(loadStack({ root, name: 's' })).rejects.toMatchObject({ code: 'UnsafePath' });
  });

  it('accepts symlinks inside the stack and hashes what they point to', async () => {
    const s = await load(
      compose('services: {a: {image: x, volumes: ["./current.conf:/c:ro", "./live:/l"]}}', {
        'stacks/s/conf/v2.conf': 'v2',
        'stacks/s/current.conf': { symlink: 'conf/v2.conf' },
        'stacks/s/live': { symlink: 'conf' },
      }),
    );
    expect(svc(s, 'a').mountedFiles).toEqual(['conf/v2.conf', 'current.conf']);
    expect(s.files.find((f) => f.path === 'stacks/s/current.conf')?.sha256).toBe(sha256('v2'));
  });

  it('refuses a YAML alias bomb', async () => {
    const bomb = [
      'x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      'x-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'x-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'x-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'x-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'x-f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
      'services: {a: {image: x, labels: {l: "1"}, x-bomb: *f}}',
    ].join('\n');
    const started = Date.now();
    const e = await loadError(compose(bomb));
    const budget = loadScaledBudget(2000);
    expect(Date.now() - started, budget.note).toBeLessThan(budget.ms);
    expect(e.code).toBe('YamlError');
    expect(e.message).toContain('alias bomb');
    expect(e.data.file).toBe('stacks/s/compose.yaml');
  });

  it('accepts an anchor shared by many services', async () => {
    const services = Array.from({ length: 150 }, (_, i) => `  s${i}: {<<: *common, image: x}`).join('\n');
    const s = await load(compose(`x-common: &common {restart: always, labels: {team: a}}\nservices:\n${services}\n`));
    expect(s.services).toHaveLength(150);
  });

  it('refuses duplicate keys with the line', async () => {
    const e = await loadError(compose('services:\n  a:\n    image: x\n    image: y\n'));
    expect(e.code).toBe('YamlError');
    expect(e.data.line).toBe(4);
    expect(e.message).toContain('duplicate key');
  });

  it('reports YAML syntax errors with the line', async () => {
    const e = await loadError(compose('services:\n  a:\n    image: [x\n'));
    expect(e.code).toBe('YamlError');
    expect(e.data.file).toBe('stacks/s/compose.yaml');
    expect(e.data.line).toBeGreaterThanOrEqual(3);
  });
});

describe('config hash', () => {
  const base = (order: 'a' | 'b') =>
    order === 'a'
      ? `services:
  web:
    image: nginx
    environment: {A: "1", B: "2"}
    volumes: ["./conf:/etc/conf:ro"]
  api:
    image: api
    env_file: api.env
    configs: [cfg]
  db:
    image: postgres
    secrets: [pw]
configs: {cfg: {file: ./cfg/app.yaml}}
secrets: {pw: {file: ./pw.txt}}
`
      : `# the same stack, keys reordered, comments, flow style
secrets: {pw: {file: ./pw.txt}}
configs:
  cfg: {file: ./cfg/app.yaml}   # config
services:
  db: {secrets: [pw], image: postgres}
  api: {configs: [cfg], env_file: [api.env], image: api}
  web:
    volumes: ["./conf:/etc/conf:ro"]
    environment: [B=2, A=1]
    image: nginx
`;
  const files = (order: 'a' | 'b', over: Tree = {}): Tree => ({
    'stacks/s/compose.yaml': base(order),
    'stacks/s/conf/nginx.conf': 'n1',
    'stacks/s/conf/sub/extra.conf': 'e1',
    'stacks/s/api.env': 'X=1\n',
    'stacks/s/cfg/app.yaml': 'c1',
    'stacks/s/pw.txt': 'p1',
    'stacks/s/README.md': 'docs',
    ...over,
  });
  const hashes = (s: DesiredStack) => Object.fromEntries(s.services.map((x) => [x.name, x.configHash]));

  it('does not depend on key order, list-vs-map style, comments or the checkout location', async () => {
    const a = hashes(await load(files('a')));
    const b = hashes(await load(files('b')));
    expect(b).toEqual(a);
    expect(Object.values(a).every((h) => /^[a-f0-9]{64}$/.test(h))).toBe(true);
  });

  it.each([
    ['stacks/s/conf/nginx.conf', ['web']],
    ['stacks/s/conf/sub/extra.conf', ['web']],
    ['stacks/s/api.env', ['api']],
    ['stacks/s/cfg/app.yaml', ['api']],
    ['stacks/s/pw.txt', ['db']],
    ['stacks/s/README.md', []],
  ])('changing %s changes exactly the hashes of %j', async (file, changed) => {
    const before = hashes(await load(files('a')));
    const after = hashes(await load(files('a', { [file]: 'changed' })));
    const differ = Object.keys(before).filter((k) => before[k] !== after[k]).sort();
    expect(differ).toEqual(changed);
  });

  it('lists the files each service mounts or reads', async () => {
    const s = await load(files('a'));
    expect(svc(s, 'web').mountedFiles).toEqual(['conf/nginx.conf', 'conf/sub/extra.conf']);
    expect(svc(s, 'api').mountedFiles).toEqual(['api.env', 'cfg/app.yaml']);
    expect(svc(s, 'db').mountedFiles).toEqual(['pw.txt']);
  });

  it('changes with the config, not with the replica count', async () => {
    const one = svc(await load(compose('services: {a: {image: x, restart: always}}')), 'a').configHash;
    expect(svc(await load(compose('services: {a: {image: x, restart: always, deploy: {replicas: 3}}}')), 'a').configHash).toBe(one);
    expect(svc(await load(compose('services: {a: {image: x, restart: always, scale: 2}}')), 'a').configHash).toBe(one);
    expect(svc(await load(compose('services: {a: {image: x, restart: "no"}}')), 'a').configHash).not.toBe(one);
    expect(svc(await load(compose('services: {a: {image: x, restart: always, mem_limit: 1g}}')), 'a').configHash).not.toBe(one);
  });

  it('is stable across runs', async () => {
    const root = makeTree(files('a'));
    const first = await loadStack({ root, name: 's' });
    const second = await loadStack({ root, name: 's' });
    expect(hashes(second)).toEqual(hashes(first));
    expect(second.inputsHash).toBe(first.inputsHash);
  });
});

describe('stack-level fields', () => {
  const lock = (over: Record<string, unknown> = {}) =>
    JSON.stringify({ version: 1, stack: 's', composeSha256: 'a'.repeat(64), images: { 'nginx:1.27': { digest: `sha256:${'b'.repeat(64)}`, platform: 'linux/amd64', indexDigest: `sha256:${'c'.repeat(64)}` } }, ...over });

  it('lists every file plus the lock, sorted, with hashes; composeSha256 follows its definition', async () => {
    const text = 'services: {a: {image: "nginx:1.27"}}';
    const over = 'services: {a: {restart: always}}';
    const s = await load({
      'stacks/s/compose.yaml': text,
      'stacks/s/compose.override.yaml': over,
      'stacks/s/.env': 'A=1\n',
      'stacks/s/z/data.txt': 'z',
      'locks/s.lock.json': lock(),
      'locks/other.lock.json': '{}',
    });
    expect(s.files.map((f) => f.path)).toEqual([
      'locks/s.lock.json',
      'stacks/s/.env',
      'stacks/s/compose.override.yaml',
      'stacks/s/compose.yaml',
      'stacks/s/z/data.txt',
    ]);
    expect(s.files.find((f) => f.path === 'stacks/s/compose.yaml')?.sha256).toBe(sha256(text));
    expect(s.composeSha256).toBe(sha256(`${sha256(text)}  compose.yaml\n${sha256(over)}  compose.override.yaml\n${sha256('A=1\n')}  .env\n`));
  });

  it('pins locked images to name:tag@digest and the pin changes the hash', async () => {
    const files = compose('services: {a: {image: "nginx:1.27"}, b: {image: "redis:7"}}');
    const unpinned = await load(files);
    const pinned = await load({ ...files, 'locks/s.lock.json': lock() });
    expect(svc(pinned, 'a').pinnedImage).toBe(`nginx:1.27@sha256:${'b'.repeat(64)}`);
    expect(svc(pinned, 'b').pinnedImage).toBeUndefined();
    expect(pinned.lock?.images['nginx:1.27']?.platform).toBe('linux/amd64');
    expect(svc(pinned, 'a').configHash).not.toBe(svc(unpinned, 'a').configHash);
    expect(svc(pinned, 'b').configHash).toBe(svc(unpinned, 'b').configHash);
    expect(pinned.inputsHash).not.toBe(unpinned.inputsHash);
  });

  it.each([
    ['{"version": 1,\n "stack": "s",\n}', 'not valid JSON', 3],
    [lock({ version: 2 }), 'version', undefined],
    [lock({ extra: true }), 'extra', undefined],
    [lock({ stack: 'other' }), 'the lock of stack "other"', undefined],
    [lock({ images: { x: { digest: 'md5' } } }), 'images.x.digest', undefined],
  ])('refuses an invalid lock %#', async (text, message, line) => {
    const e = await loadError(compose('services: {a: {image: x}}', { 'locks/s.lock.json': text }));
    expect(e.code).toBe('InvalidLockFile');
    expect(e.data.file).toBe('locks/s.lock.json');
    expect(e.message).toMatch(/^locks\/s\.lock\.json(:\d+)?: /);
    expect(e.message).toContain(message);
    if (line !== undefined) expect(e.data.line).toBe(line);
  });

  it('matches lock keys by normalized reference too, and leaves digest references alone', async () => {
    const l = JSON.stringify({ version: 1, stack: 's', composeSha256: 'a'.repeat(64), images: { 'docker.io/library/redis:7': { digest: `sha256:${'e'.repeat(64)}` } } });
    const s = await load({ ...compose(`services: {a: {image: "redis:7"}, b: {image: "redis@sha256:${'f'.repeat(64)}"}}`), 'locks/s.lock.json': l });
    expect(svc(s, 'a').pinnedImage).toBe(`redis:7@sha256:${'e'.repeat(64)}`);
    expect(svc(s, 'b').pinnedImage).toBeUndefined();
  });

  it('inputsHash covers the host-local env file', async () => {
    const root = makeTree(compose('services: {a: {image: x}}'));
    const envDir = makeTree({ 's.env': 'A=1\n' });
    const before = await loadStack({ root, name: 's', envDir });
    writeFileSync(path.join(envDir, 's.env'), 'A=2\n');
    const after = await loadStack({ root, name: 's', envDir });
    expect(after.inputsHash).not.toBe(before.inputsHash);
    writeTree(root, { 'stacks/s/notes.txt': 'n' });
    expect((await loadStack({ root, name: 's', envDir })).inputsHash).not.toBe(after.inputsHash);
  });
});
