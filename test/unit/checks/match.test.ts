import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkName, excerpt, jsonPath, judgeHttp, substitute } from '../../../src/checks/match.js';
import { checkSchema, type HttpCheck } from '../../../src/checks/model.js';
import { describeFailures, runChecks, type CheckContext } from '../../../src/checks/run.js';

const vars = { DRIFTD_TAG: 'v1.4.2', DRIFTD_REVISION: 'a'.repeat(40), DRIFTD_STACK: 'edge' };
const http = (extra: Partial<HttpCheck> = {}): HttpCheck => ({ http: 'http://x/', ...extra });

describe('judgeHttp', () => {
  it.each([
    ['any 2xx by default', http(), { status: 204, body: '' }, undefined],
    ['a 500 by default', http(), { status: 500, body: '' }, 'answered 500, expected a 2xx status'],
    ['a 301 by default', http(), { status: 301, body: '' }, 'answered 301, expected a 2xx status'],
    ['expectStatus exact', http({ expectStatus: 200 }), { status: 201, body: '' }, 'answered 201, expected 200'],
    ['expectStatus list', http({ expectStatus: [200, 401] }), { status: 401, body: '' }, undefined],
    ['bodyContains hit', http({ bodyContains: '"status":"ok"' }), { status: 200, body: '{"status":"ok"}' }, undefined],
    ['bodyContains miss', http({ bodyContains: '"status":"ok"' }), { status: 200, body: '{"status":"down"}' }, 'body does not contain "\\"status\\":\\"ok\\""'],
    ['bodyContains with the tag', http({ bodyContains: 'app ${DRIFTD_TAG}' }), { status: 200, body: 'driftd app v1.4.2\n' }, undefined],
    ['bodyMatches', http({ bodyMatches: '^driftd app v1\\.\\d+' }), { status: 200, body: 'driftd app v1.4.2' }, undefined],
    ['bodyMatches miss', http({ bodyMatches: '^ok$' }), { status: 200, body: 'nok' }, 'body does not match /^ok$/'],
    ['bodyMatches invalid', http({ bodyMatches: '(' }), { status: 200, body: '' }, 'bodyMatches "(" is not a valid regular expression'],
    ['json equals the tag', http({ json: { path: '.version', equals: '${DRIFTD_TAG}' } }), { status: 200, body: '{"version":"v1.4.2"}' }, undefined],
    ['json wrong version', http({ json: { path: '.version', equals: '${DRIFTD_TAG}' } }), { status: 200, body: '{"version":"v1.4.1"}' }, 'JSON .version is "v1.4.1", expected "v1.4.2"'],
    ['json nested and indexed', http({ json: { path: '.a.b[1].c', equals: true } }), { status: 200, body: '{"a":{"b":[{},{"c":true}]}}' }, undefined],
    ['json number vs text', http({ json: { path: 'n', equals: '3' } }), { status: 200, body: '{"n":3}' }, undefined],
    ['json missing path', http({ json: { path: '.version', equals: 'x' } }), { status: 200, body: '{}' }, 'JSON has no .version'],
    ['json not JSON', http({ json: { path: '.version', equals: 'x' } }), { status: 200, body: '<html>' }, 'body is not JSON'],
    ['json object is not a string', http({ json: { path: '.a', equals: '[object Object]' } }), { status: 200, body: '{"a":{}}' }, 'JSON .a is {}, expected "[object Object]"'],
    ['json prototype path', http({ json: { path: '.__proto__.polluted', equals: 'x' } }), { status: 200, body: '{"__proto__":{"polluted":"y"}}' }, 'JSON .__proto__.polluted is "y", expected "x"'],
    ['json constructor is not own', http({ json: { path: '.constructor.name', equals: 'Object' } }), { status: 200, body: '{}' }, 'JSON has no .constructor.name'],
  ])('%s', (_n, check, answer, expected) => expect(judgeHttp(check, answer, vars)).toBe(expected));
});

describe('helpers', () => {
  it('substitutes only the driftd variables', () => {
    expect(substitute('${DRIFTD_TAG}/${DRIFTD_REVISION}/${DRIFTD_STACK}/${HOME}/$DRIFTD_TAG', vars)).toBe(`v1.4.2/${'a'.repeat(40)}/edge/\${HOME}/$DRIFTD_TAG`);
  });
  it('jsonPath accepts $, dots and brackets', () => {
    expect(jsonPath({ a: [{ b: 1 }] }, '$.a[0].b')).toBe(1);
    expect(jsonPath({ a: [{ b: 1 }] }, 'a.0.b')).toBe(1);
    expect(jsonPath('x', '.a')).toBeUndefined();
  });
  it('names checks and flattens excerpts', () => {
    expect(checkName({ http: 'http://h/x' })).toBe('http http://h/x');
    expect(checkName({ tcp: '127.0.0.1:1' })).toBe('tcp 127.0.0.1:1');
    expect(checkName({ exec: { service: 'db', command: ['pg_isready', '-U', 'app'] } })).toBe('exec db: pg_isready -U app');
    expect(checkName({ name: 'api', http: 'x' })).toBe('api');
    expect(excerpt('a\n\tb\u0000c')).toBe('a b c');
    expect(excerpt('x'.repeat(300))).toBe(`${'x'.repeat(200)}…`);
  });
  it('schema: refuses unknown keys and mixed kinds', () => {
    expect(checkSchema.safeParse({ http: 'http://x', expectStatus: 200 }).success).toBe(true);
    expect(checkSchema.safeParse({ http: 'http://x', tcp: 'h:1' }).success).toBe(false);
    expect(checkSchema.safeParse({ http: 'http://x', expect: 200 }).success).toBe(false);
    expect(checkSchema.safeParse({ exec: { service: 'db', command: [] } }).success).toBe(false);
  });
});

describe('runChecks against a real loopback server', () => {
  let server: Server;
  let base = '';
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits += 1;
      if (req.url === '/flaky') {
        res.writeHead(hits >= 3 ? 200 : 503);
        res.end(hits >= 3 ? '{"status":"ok"}' : 'starting, token=s3cr3t-value');
      } else if (req.url === '/big') {
        res.writeHead(200);
        res.end('y'.repeat(200_000));
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 3000);
      } else {
        res.writeHead(500);
        res.end('db down: password=s3cr3t-value\n');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const ctx: CheckContext = {
    vars,
    exec: (_s, command) => Promise.resolve({ code: command[0] === 'true' ? 0 : 3, output: 'not ready: s3cr3t-value' }),
    scrub: (t) => t.split('s3cr3t-value').join('[redacted]'),
  };

  it('retries until the endpoint recovers', async () => {
    hits = 0;
    const v = await runChecks([{ http: `${base}/flaky`, bodyContains: 'ok' }], ctx, { timeoutMs: 30_000, intervalMs: 50 });
    expect(v).toMatchObject({ ok: true, attempts: 3 });
  });
  it('gives up after the timeout with status and a scrubbed excerpt', async () => {
    const v = await runChecks([{ http: `${base}/broken`, expectStatus: 200 }, { tcp: `127.0.0.1:${new URL(base).port}` }], ctx, { timeoutMs: 300, intervalMs: 100 });
    expect(v.ok).toBe(false);
    expect(v.attempts).toBeGreaterThanOrEqual(2);
    expect(describeFailures(v.results)).toEqual([`check http ${base}/broken failed: answered 500, expected 200 (last status 500); body: "db down: password=[redacted]"`]);
  });
  it('reads only the start of a large body, times out a slow one, refuses a closed port', async () => {
    const big = await runChecks([{ http: `${base}/big`, bodyMatches: '^y+$' }], ctx, { timeoutMs: 0 });
    expect(big.ok).toBe(true);
    const slow = await runChecks([{ http: `${base}/slow`, timeout: '200ms' }], ctx, { timeoutMs: 0 });
    expect(slow.results[0]?.problem).toMatch(/no answer within 0.2 s/);
    const closed = await runChecks([{ tcp: '127.0.0.1:1' }], ctx, { timeoutMs: 0 });
    expect(closed.results[0]?.problem).toMatch(/ECONNREFUSED/);
    const scheme = await runChecks([{ http: 'file:///etc/passwd' }], ctx, { timeoutMs: 0 });
    expect(scheme.results[0]?.problem).toMatch(/unsupported URL scheme file:/);
  });
  it('exec checks pass on exit 0 and report a scrubbed output otherwise', async () => {
    const ok = await runChecks([{ exec: { service: 'db', command: ['true'] } }], ctx, { timeoutMs: 0 });
    expect(ok.ok).toBe(true);
    const bad = await runChecks([{ exec: { service: 'db', command: ['pg_isready'] } }], ctx, { timeoutMs: 0 });
    expect(describeFailures(bad.results)).toEqual(['check exec db: pg_isready failed: exited 3 (last status 3); body: "not ready: [redacted]"']);
  });
});
