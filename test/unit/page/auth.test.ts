import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttp } from '../../../src/agent/http.js';
import { createSessions, SESSION_TTL_MS } from '../../../src/page/session.js';
import { fixtureSource, PENDING, type FixtureSource } from '../../support/page-fixture.js';

const READ = 'r3ad-token-value';
const WRITE = 'wr1te-token-value';
const PAGES = ['/', '/history', '/history?result=failed', '/stacks/web', '/stacks/manual', '/stacks/nope'];

describe('sessions', () => {
  const s = createSessions(READ);
  it('issues cookies that are not the token, verify, expire and die with another token', () => {
    const c = s.issue(1_000);
    expect(c).not.toContain(READ);
    expect(s.valid(c, 1_000)).toBe(true);
    expect(s.valid(c, 1_000 + SESSION_TTL_MS + 1)).toBe(false);
    expect(createSessions('other').valid(c, 1_000)).toBe(false);
    expect(createSessions(READ).valid(c, 1_000)).toBe(false); // another agent process
  });
  it('refuses tampered and malformed cookies', () => {
    const c = s.issue();
    const parts = c.split('.');
    const later = [parts[0], (parseInt(parts[1]!, 36) + 10 ** 9).toString(36), parts[2], parts[3]].join('.');
    for (const bad of [later, c.slice(0, -1) + (c.endsWith('A') ? 'B' : 'A'), '', 'x'.repeat(500), `${c}.x`, READ, undefined]) expect(s.valid(bad)).toBe(false);
  });
  it('binds CSRF tokens to a session', () => {
    expect(s.csrfValid('a', s.csrf('a'))).toBe(true);
    expect(s.csrfValid('b', s.csrf('a'))).toBe(false);
    expect(s.csrfValid('a', undefined)).toBe(false);
    expect(s.csrfValid('a', '')).toBe(false);
  });
});

describe('the page over HTTP', () => {
  let server: Server;
  let base: string;
  let source: FixtureSource;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(base + path, { headers, redirect: 'manual' });
  const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString(), redirect: 'manual' });

  async function login(): Promise<string> {
    const r = await post('/login', { token: READ, next: '/stacks/manual' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/stacks/manual');
    const set = r.headers.get('set-cookie') ?? '';
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).not.toContain(READ);
    return set.split(';')[0]!;
  }
  const csrfOf = async (cookie: string, path = '/stacks/manual'): Promise<string> => /name="csrf" value="([^"]+)"/.exec(await (await get(path, { cookie })).text())![1]!;

  beforeAll(async () => {
    source = fixtureSource();
    server = await startHttp(
      { listen: '127.0.0.1:0', host: '127.0.0.1', port: 0, readToken: READ, writeToken: WRITE, webhookSecret: 'hook-secret' },
      { health: () => ({ ok: true }), status: () => ({}), trigger: () => undefined, page: source },
    );
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it.each(PAGES)('%s without a token redirects to the login form', async (path) => {
    const r = await get(path);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe(`/login?next=${encodeURIComponent(path)}`);
  });
  it.each(PAGES)('%s with a wrong Bearer token is 401', async (path) => {
    expect((await get(path, { authorization: 'Bearer nope' })).status).toBe(401);
  });
  it.each(PAGES)('%s with a forged cookie redirects to login', async (path) => {
    expect((await get(path, { cookie: 'driftd_session=s1.zzzzzz.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })).status).toBe(303);
  });

  it('serves pages to the read token, with strict security headers and no caching', async () => {
    const r = await get('/', { authorization: `Bearer ${READ}` });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(r.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await r.text()).toContain('<table class="stacks">');
    expect((await get('/stacks/nope', { authorization: `Bearer ${READ}` })).status).toBe(404);
    expect((await get('/stacks/%E0%A4%A', { authorization: `Bearer ${READ}` })).status).toBe(404);
  });

  it('serves its assets with the right types and nosniff', async () => {
    const css = await get('/assets/page.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const js = await get('/assets/page.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await js.text()).length).toBeLessThan(2048);
  });

  it('the login form refuses a wrong token, accepts the read token and its cookie opens every page', async () => {
    const bad = await post('/login', { token: 'wrong', next: '/' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();
    const cookie = await login();
    for (const p of ['/', '/history', '/stacks/web']) expect((await get(p, { cookie })).status).toBe(200);
    expect((await post('/login', { token: READ, next: '//evil.example/' })).headers.get('location')).toBe('/');
  });

  it('refuses a login posted from another origin', async () => {
    expect((await post('/login', { token: READ }, { origin: 'http://evil.example' })).status).toBe(401);
  });

  it('approve needs the session, the CSRF token and the write token', async () => {
    const cookie = await login();
    const csrf = await csrfOf(cookie);
    const form = { csrf, writeToken: WRITE, revision: PENDING };
    const before = source.approvals.length;
    // without a session / CSRF / write token / from another site: refused, nothing approved
    expect((await post('/approve/manual', form)).status).toBe(401);
    expect((await post('/approve/manual', { ...form, csrf: '' }, { cookie })).status).toBe(403);
    expect((await post('/approve/manual', { ...form, csrf: csrf.slice(1) }, { cookie })).status).toBe(403);
    expect((await post('/approve/manual', { ...form, writeToken: '' }, { cookie })).status).toBe(403);
    expect((await post('/approve/manual', { ...form, writeToken: READ }, { cookie })).status).toBe(403);
    expect((await post('/approve/manual', form, { cookie, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post('/approve/manual', form, { cookie, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(source.approvals.length).toBe(before);
    // a CSRF token of another session does not fit this one
    const other = await login();
    expect((await post('/approve/manual', { ...form, csrf: await csrfOf(other) }, { cookie })).status).toBe(403);
    // all three: approved, back to the stack page
    const ok = await post('/approve/manual', form, { cookie });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe(`/stacks/manual?approved=${PENDING.slice(0, 12)}`);
    expect(source.approvals.slice(before)).toEqual([{ stack: 'manual', revision: PENDING, actor: 'status page (session)' }]);
  });

  it('a Bearer client can approve with the CSRF token of its page and the write token', async () => {
    const auth = { authorization: `Bearer ${READ}` };
    const page = await (await get('/stacks/manual', auth)).text();
    const token = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    expect((await post('/approve/manual', { csrf: token, writeToken: WRITE, revision: PENDING }, auth)).status).toBe(303);
  });

  it('sign-out needs the CSRF token and clears the cookie', async () => {
    const cookie = await login();
    expect((await post('/logout', {}, { cookie })).status).toBe(403);
    const r = await post('/logout', { csrf: await csrfOf(cookie, '/') }, { cookie });
    expect(r.status).toBe(303);
    expect(r.headers.get('set-cookie')).toMatch(/Max-Age=0/);
  });

  it('refuses an oversized form', async () => {
    expect((await post('/login', { token: 'x'.repeat(20_000) })).status).toBe(413);
  });
});

describe('a page with no read token configured', () => {
  it('is closed: every page is 403, the login form says why', async () => {
    const server = await startHttp(
      { listen: '127.0.0.1:0', host: '127.0.0.1', port: 0 },
      { health: () => ({ ok: true }), status: () => ({}), trigger: () => undefined, page: fixtureSource() },
    );
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      for (const p of PAGES) expect((await fetch(base + p, { redirect: 'manual' })).status).toBe(403);
      const login = await fetch(`${base}/login`);
      expect(login.status).toBe(403);
      expect(await login.text()).toContain('no read token is configured');
      expect((await fetch(`${base}/login`, { method: 'POST', body: 'token=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(403);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
