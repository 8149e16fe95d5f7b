import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { render } from '../../../src/commands/render.js';
import { formatRender } from '../../../src/cli/format/render-output.js';
import { loadStack } from '../../../src/compose/load-stack.js';
import { renderStack, toComposeYaml } from '../../../src/compose/render.js';
import { redactValue } from '../../../src/util/scrub.js';
import { cleanupTrees, makeTree, type Tree } from './fixture.js';

afterAll(cleanupTrees);

const digest = `sha256:${'d'.repeat(64)}`;
const stackFiles: Tree = {
  'stacks/web/compose.yaml': `
services:
  web:
    image: nginx:1.27
    command: sh -c 'echo "$$HOME"'
    env_file: app.env
    environment:
      GREETING: "cost: $$5"
      API_TOKEN: \${TOKEN}
    labels: [team=web]
    ports: ["8080:80"]
  side:
    image: busybox
    deploy: {replicas: 2}
    scale: 2
`,
  'stacks/web/app.env': 'DB_URL=postgres://db/app\n',
  'stacks/web/.env': 'TOKEN=t0k3n\n',
  'locks/web.lock.json': JSON.stringify({ version: 1, stack: 'web', composeSha256: 'a'.repeat(64), images: { 'nginx:1.27': { digest } } }),
};

type Svc = { image: string; labels: Record<string, string>; environment: Record<string, string>; command: string[]; env_file?: unknown; ports: unknown[]; scale?: number };
const services = (model: Record<string, unknown>) => model.services as Record<string, Svc>;

describe('renderStack', () => {
  it('pins, labels, expands env_file, escapes $ and leaves the rest as resolved', async () => {
    const stack = await loadStack({ root: makeTree(stackFiles), name: 'web' });
    const model = renderStack(stack, { revision: 'c0ffee', ref: 'v1.2.0', redact: false });
    const web = services(model).web!;
    const hash = stack.services.find((s) => s.name === 'web')?.configHash;
    expect(web.image).toBe(`nginx:1.27@${digest}`);
    expect(web.labels).toEqual({ team: 'web', 'io.driftd.stack': 'web', 'io.driftd.revision': 'c0ffee', 'io.driftd.ref': 'v1.2.0', 'io.driftd.config-hash': hash });
    expect(web.environment).toEqual({ GREETING: 'cost: $$5', API_TOKEN: 't0k3n', DB_URL: 'postgres://db/app' });
    expect(web.command).toEqual(['sh', '-c', 'echo "$$HOME"']);
    expect(web.env_file).toBeUndefined();
    expect(web.ports).toEqual(['8080:80/tcp']);
    expect(services(model).side?.scale).toBeUndefined();
    expect(Object.keys(model)).toEqual(['services']);
    // the stack itself is not modified
    expect(stack.services.find((s) => s.name === 'web')?.raw.image).toBe('nginx:1.27');
  });

  it('redacts secret-looking keys and env_file values only when asked', async () => {
    const stack = await loadStack({ root: makeTree(stackFiles), name: 'web' });
    const env = services(renderStack(stack, { revision: 'r', redact: true })).web!.environment;
    expect(env).toEqual({ GREETING: 'cost: $$5', API_TOKEN: redactValue('t0k3n'), DB_URL: redactValue('postgres://db/app') });
    expect(services(renderStack(stack, { revision: 'r', redact: false })).web!.environment.API_TOKEN).toBe('t0k3n');
  });

  it('labels unchanged services with the revision they already run when told so', async () => {
    const stack = await loadStack({ root: makeTree(stackFiles), name: 'web' });
    const model = renderStack(stack, { revision: 'new', ref: 'v2', redact: false, serviceRevisions: { side: { revision: 'old', ref: 'v1' } } });
    expect(services(model).side!.labels['io.driftd.revision']).toBe('old');
    expect(services(model).side!.labels['io.driftd.ref']).toBe('v1');
    expect(services(model).web!.labels['io.driftd.revision']).toBe('new');
    expect(renderStack(stack, { revision: 'x', redact: false }).services).toMatchObject({ side: { labels: { 'io.driftd.ref': '' } } });
  });
});

describe('toComposeYaml', () => {
  it('quotes every string so YAML 1.1 readers cannot misread it, and round-trips', () => {
    const model = {
      services: {
        a: {
          image: 'x',
          environment: { Y: 'yes', N: 'no', ON: 'on', T: '22:22', O: '0755', E: '=', M: '<<', NUL: 'null', EMPTY: '', ML: 'a\nb' },
          ports: ['22:22/tcp'],
          labels: { y: 'n', 'com.example/key': 'v', 'with space': 'x' },
          privileged: true,
          deploy: { replicas: 2 },
        },
      },
      volumes: { data: null },
    };
    const text = toComposeYaml(model);
    expect(text).toContain('"Y": "yes"');
    expect(text).toContain('"ON": "on"');
    expect(text).toContain('- "22:22/tcp"');
    expect(text).toContain('"y": "n"');
    expect(text).toContain('"with space": "x"');
    expect(text).toContain('privileged: true');
    expect(text).toContain('replicas: 2');
    expect(text).not.toMatch(/^version:|^name:/m);
    expect(parse(text, { version: '1.1' })).toEqual(model);
    expect(parse(text)).toEqual(model);
  });
});

describe('render command', () => {
  const files: Tree = { ...stackFiles, 'stacks/bad/compose.yaml': 'services:\n  a:\n    image: "${IMG:?IMG must be set}"\n', 'stacks/other/compose.yaml': 'services: {o: {image: redis}}' };

  it('renders YAML documents per stack, redacted, and reports the failing stack', async () => {
    const result = await render({ root: makeTree(files), host: 'h1', revision: { commit: 'c0ffee', ref: 'v1.2.0' }, envDir: '/nonexistent' });
    const { errors } = result;
    const text = formatRender(result, 'yaml');
    expect(errors).toEqual([
      { stack: 'bad', code: 'InterpolationError', file: 'stacks/bad/compose.yaml', line: 3, message: 'error while interpolating services.a.image: required variable IMG is missing a value: IMG must be set' },
    ]);
    const docs = text.split(/^---$/m);
    expect(docs).toHaveLength(2);
    expect(docs[0]).toMatch(/^# stack other for host h1 at c0ffee \(v1.2.0\)\n/);
    expect(text).not.toContain('t0k3n');
    expect(text).not.toContain('postgres://db/app');
    const web = parse(docs[1]!) as Record<string, unknown>;
    expect(services(web).web!.environment.API_TOKEN).toBe(redactValue('t0k3n'));
    expect(services(web).web!.image).toBe(`nginx:1.27@${digest}`);
  });

  it('renders JSON with the stacks as compose models', async () => {
    const result = await render({ root: makeTree(files), host: 'h1', revision: { commit: 'c0ffee' }, stacks: ['web'] });
    const { errors } = result;
    const text = formatRender(result, 'json');
    expect(errors).toEqual([]);
    const out = JSON.parse(text) as { host: string; stacks: Record<string, Record<string, unknown>>; errors: unknown[] };
    expect(out.host).toBe('h1');
    expect(Object.keys(out.stacks)).toEqual(['web']);
    expect(services(out.stacks.web!).web!.labels['io.driftd.revision']).toBe('c0ffee');
    expect(text).not.toContain('t0k3n');
  });
});
