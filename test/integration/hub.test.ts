/**
 * `driftd hub` as a real process on 127.0.0.1 with several reporters that use the agent's own
 * sending code (hub/outbox.ts: the status document queued in a real state DB's outbox and
 * delivered by the notifications' loop), `driftd fleet status` against it, hostile reports (foreign host,
 * unknown token, `<script>` names and texts, oversize, floods), a host that stops reporting going
 * silent, and the fleet page in headless Chromium (Debian's chromium via playwright-core): badges,
 * filters, a keyboard-only run over every link with a visible focus, a phone viewport without
 * sideways scrolling, no console errors, screenshots in test-artifacts/hub.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report, ReportStack } from '../../src/hub/report.js';
import { hubLane, startHubReports } from '../../src/hub/outbox.js';
import { Notifier } from '../../src/notify/notifier.js';
import { openState } from '../../src/state/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { execFileCapture } from '../../src/util/exec.js';
import { pollUntil } from '../support/docker.js';
import { freePort } from '../support/free-port.js';
import { buildCli } from '../support/sync-harness.js';
import { ROOT } from './drift-support.js';
import { reportStack, startHubProcess, type HubProcess } from '../support/hub-fixture.js';

const READ = 'hub-read-token-0123456789';
const HOSTS = ['web-01', 'web-02', 'db-01', 'quiet-01', 'constructor'] as const;
const tokenOf = (h: string): string => `agent-token-${h}-0123456789abcdef`;
const C2 = 'b'.repeat(40);
const HOSTILE = '<script>alert("hub")</script>';
const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => existsSync(p));
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'hub');
const WAIT = { timeoutMs: 120_000, intervalMs: 250 };

const stack = (name: string, over: Partial<ReportStack> = {}): ReportStack => reportStack(name, C2, over);

/** What an agent runs for the hub: its state DB's outbox, the delivery loop with the hub's lane, the reports. */
interface Reporter {
  cycleDone(): void;
  readonly sent: number;
  stop(): Promise<void>;
}

function startReporter(dir: string, url: string, token: string, build: (kind: Report['kind']) => Report): Reporter {
  const store = openState(dir);
  const target = { url, token, heartbeatMs: 2_000 };
  const notifier = new Notifier({ channels: [], lanes: [hubLane(target)], store: () => store, host: 'reporter', logger: silentLogger });
  let sent = 0;
  notifier.onResult = (_key, result) => void (result === 'delivered' && sent++);
  notifier.start();
  const reports = startHubReports({ url, heartbeatMs: target.heartbeatMs, outbox: notifier, build, logger: silentLogger });
  return {
    cycleDone: () => reports.cycleDone(),
    get sent() {
      return sent;
    },
    async stop() {
      reports.stop();
      await notifier.stop();
      store.close();
    },
  };
}

describe('driftd hub with reporting agents', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-hub-'));
  let hub: HubProcess;
  let base: string;
  let bin: string;
  const docs = new Map<string, Report>();
  const reporters = new Map<string, Reporter>();
  const doc = (host: string, stacks: ReportStack[], over: Partial<Report> = {}): Report => ({
    schemaVersion: 1,
    host,
    kind: 'cycle',
    sentAt: new Date().toISOString(),
    version: '0.1.0',
    target: { commit: C2, ref: 'v2.0.0' },
    stacks,
    ...over,
  });
  const fleet = async (query = ''): Promise<{ summary: Record<string, number>; hosts: { host: string; state: string; stacks: ReportStack[] }[]; newest?: Record<string, unknown> }> => {
    const r = await fetch(`${base}/api/fleet${query}`, { headers: { authorization: `Bearer ${READ}` } });
    expect(r.status).toBe(200);
    return (await r.json()) as never;
  };
  const post = (token: string | undefined, body: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${base}/api/report`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body });
  const cli = (args: string[], env: Record<string, string> = {}) =>
    execFileCapture(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '', HOME: dir, ...env }, timeoutMs: 120_000 });

  beforeAll(async () => {
    bin = await buildCli();
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(dir, 'agents.yaml'), HOSTS.map((h) => `${h}: ${tokenOf(h)}\n`).join(''), { mode: 0o600 });
    writeFileSync(path.join(dir, 'read.token'), `${READ}\n`, { mode: 0o600 });
    writeFileSync(
      path.join(dir, 'config.yaml'),
      `hubServer:\n  readTokenFile: ${path.join(dir, 'read.token')}\n  agentTokensFile: ${path.join(dir, 'agents.yaml')}\n  silentAfter: 20s\n  stragglerGrace: 1h\n`,
    );
    const port = await freePort();
    hub = await startHubProcess({ bin, config: path.join(dir, 'config.yaml'), dataDir: path.join(dir, 'data'), port, home: dir });
    base = hub.base;

    docs.set('web-01', doc('web-01', [stack('web'), stack('worker')]));
    docs.set('web-02', doc('web-02', [stack('web'), stack('worker')]));
    docs.set('db-01', doc('db-01', [stack('postgres')]));
    docs.set('quiet-01', doc('quiet-01', [stack('web')]));
    for (const h of ['web-01', 'web-02', 'db-01', 'quiet-01']) {
      const r = startReporter(path.join(dir, `state-${h}`), base, tokenOf(h), (kind) => ({ ...docs.get(h)!, kind, sentAt: new Date().toISOString() }));
      reporters.set(h, r);
      r.cycleDone();
    }
    await pollUntil('four hosts reported', async () => ((await fleet()).hosts.filter((h) => h.state === 'synced').length === 4 ? true : undefined), WAIT);
  }, 600_000);

  afterAll(async () => {
    for (const r of reporters.values()) await r.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads nothing without the read token: /api/fleet 401, pages go to the login form, a wrong Bearer is 401', async () => {
    expect((await fetch(`${base}/api/fleet`)).status).toBe(401);
    expect((await fetch(`${base}/api/fleet`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${base}/api/fleet`, { headers: { authorization: `Bearer ${tokenOf('web-01')}` } })).status).toBe(401);
    for (const p of ['/', '/hosts/web-01', '/?status=silent']) {
      const r = await fetch(base + p, { redirect: 'manual' });
      expect(r.status).toBe(303);
      expect(r.headers.get('location')).toMatch(/^\/login\?next=/);
      expect((await fetch(base + p, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    }
  });

  it('the fleet as JSON: every reporting host, its stacks, the newest target rollout; fleet status exits 2 while a known host has never reported', async () => {
    const f = await fleet();
    expect(f.hosts.map((h) => [h.host, h.state])).toEqual([
      ['constructor', 'silent'],
      ['db-01', 'synced'],
      ['quiet-01', 'synced'],
      ['web-01', 'synced'],
      ['web-02', 'synced'],
    ]);
    expect(f.newest).toMatchObject({ commit: C2, ref: 'v2.0.0', hosts: 5, synced: 4, pending: 1 });
    const out = await cli(['fleet', 'status', '--hub', base], { DRIFTD_HUB_TOKEN: READ });
    expect(out.code).toBe(2);
    expect(out.stdout).toContain('5 hosts: 4 synced, 0 out of sync, 1 silent');
    expect(out.stdout).toMatch(/web-01\s+synced\s+v2\.0\.0 bbbbbbbbbbbb/);
    const json = await cli(['fleet', 'status', '--hub', base, '--json'], { DRIFTD_HUB_TOKEN: READ });
    expect(json.code).toBe(2);
    expect((JSON.parse(json.stdout) as { summary: { silent: number } }).summary.silent).toBe(1);
  });

  it('refuses hostile reports: no token, unknown token, another host, not JSON, a <script> stack, oversize; the stored status is untouched', async () => {
    const valid = JSON.stringify(doc('web-01', [stack('web')]));
    expect((await post(undefined, valid)).status).toBe(401);
    expect((await post('agent-token-nobody-0123456789abcdef', valid)).status).toBe(401);
    const foreign = await post(tokenOf('db-01'), valid);
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain('may only report for host db-01');
    expect((await post(tokenOf('constructor'), '{"schemaVersion":1,')).status).toBe(400);
    const script = await post(tokenOf('constructor'), JSON.stringify(doc('constructor', [stack(HOSTILE)])));
    expect(script.status).toBe(400);
    expect(await script.text()).toContain('stacks[0].name');
    const proto = await post(tokenOf('constructor'), JSON.stringify(doc('constructor', [stack('__proto__')])));
    expect(proto.status).toBe(400);
    expect((await post(tokenOf('constructor'), JSON.stringify({ ...doc('constructor', []), pad: 'x'.repeat(600 * 1024) }))).status).toBe(413);
    const f = await fleet();
    expect(f.hosts.find((h) => h.host === 'web-01')?.stacks.map((s) => s.name)).toEqual(['web', 'worker']);
    expect(f.hosts.find((h) => h.host === 'constructor')?.state).toBe('silent');
  });

  it('a flood from one host gets 429 after its burst; the others still report', async () => {
    const body = JSON.stringify(doc('constructor', [stack('web')]));
    const codes = await Promise.all(Array.from({ length: 30 }, () => post(tokenOf('constructor'), body).then((r) => r.status)));
    expect(codes.filter((c) => c === 202).length).toBeGreaterThan(0);
    expect(codes.filter((c) => c === 202).length).toBeLessThanOrEqual(11);
    expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(19);
    const before = reporters.get('web-02')!.sent;
    await pollUntil('web-02 to keep reporting through the flood', () => Promise.resolve(reporters.get('web-02')!.sent > before ? true : undefined), WAIT);
  });

  it('text from a report is escaped on the page, drift shows in the matrix, fleet status exits 2', async () => {
    docs.set('web-02', doc('web-02', [stack('web', { sync: 'OutOfSync', reason: `hand edit ${HOSTILE}`, findings: 2, worstKind: 'config-drift', worstSeverity: 'warning' }), stack('worker')]));
    reporters.get('web-02')!.cycleDone();
    await pollUntil('web-02 out of sync', async () => ((await fleet()).hosts.find((h) => h.host === 'web-02')?.state === 'out-of-sync' ? true : undefined), WAIT);
    const page = await (await fetch(`${base}/?status=problems`, { headers: { authorization: `Bearer ${READ}` } })).text();
    expect(page).not.toContain('<script>alert');
    const host = await (await fetch(`${base}/hosts/web-02`, { headers: { authorization: `Bearer ${READ}` } })).text();
    expect(host).toContain('hand edit &lt;script&gt;alert(&quot;hub&quot;)&lt;/script&gt;');
    expect(host).not.toContain('<script>alert');
    expect(host).toContain('config-drift');
    const out = await cli(['fleet', 'status', '--hub', base], { DRIFTD_HUB_TOKEN: READ });
    expect(out.code).toBe(2);
    expect(out.stdout).toContain('web:OutOfSync/Healthy');
  });

  it('a host that stops reporting goes silent after hubServer.silentAfter', async () => {
    await reporters.get('quiet-01')!.stop();
    reporters.delete('quiet-01');
    await pollUntil('quiet-01 to go silent', async () => ((await fleet()).hosts.find((h) => h.host === 'quiet-01')?.state === 'silent' ? true : undefined), { timeoutMs: 180_000, intervalMs: 1_000 });
    const f = await fleet('?status=silent');
    expect(f.hosts.map((h) => h.host)).toEqual(['constructor', 'quiet-01']);
  });

  it('fleet status exits 1 when it cannot ask (wrong token, nothing listening)', async () => {
    const wrong = await cli(['fleet', 'status', '--hub', base], { DRIFTD_HUB_TOKEN: 'wrong' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('refused the read token');
    const gone = await cli(['fleet', 'status', '--hub', `http://127.0.0.1:${await freePort()}`], { DRIFTD_HUB_TOKEN: READ });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('did not answer');
  });

  describe.skipIf(!CHROMIUM)('the fleet page in headless Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    }, 120_000);
    afterAll(async () => browser?.close());

    it('signs in, shows hosts × stacks with badges, filters by status and stack, has no console errors', async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => void (m.type() === 'error' && errors.push(`${m.location().url}: ${m.text()}`)));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}/`);
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.fill('#token', READ);
      await Promise.all([page.waitForURL(`${base}/`), page.click('form.login button')]);
      expect(await page.locator('table.fleet thead th.stack').allTextContents()).toEqual(['postgres', 'web', 'worker']);
      const row = page.locator('table.fleet tbody tr[data-host="web-02"]');
      expect(await row.locator('td .badge.tone-warn').first().textContent()).toContain('out of sync');
      expect(await row.locator('td').nth(4).textContent()).toContain('OutOfSync');
      expect(await page.locator('.rollout').textContent()).toMatch(/v2\.0\.0.*\d\/5 hosts synced/s);
      await page.screenshot({ path: path.join(ARTIFACTS, '01-fleet.png'), fullPage: true });
      await page.selectOption('#f-status', 'silent');
      await Promise.all([page.waitForURL(/status=silent/), page.click('form.filters button')]);
      expect(await page.locator('table.fleet tbody tr').count()).toBe(2);
      await page.goto(`${base}/?stack=postgres`);
      expect(await page.locator('table.fleet tbody th a').allTextContents()).toEqual(['db-01']);
      await page.click('table.fleet tbody th a');
      await page.waitForURL(/\/hosts\/db-01$/);
      expect(await page.locator('table.stacks tbody th').allTextContents()).toEqual(['postgres']);
      await page.screenshot({ path: path.join(ARTIFACTS, '02-host.png'), fullPage: true });
      expect(errors).toEqual([]);
      await context.close();
    });

    it('keyboard only: Tab reaches every link of the fleet and host pages with a visible focus; on a phone the page does not scroll sideways', async () => {
      const login = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const first = await login.newPage();
      await first.goto(`${base}/login`);
      await first.fill('#token', READ);
      await Promise.all([first.waitForURL(`${base}/`), first.click('form.login button')]);
      const state = await login.storageState();
      await login.close();
      const errors: string[] = [];
      const watch = (p: import('playwright-core').Page): void => {
        p.on('console', (m) => void (m.type() === 'error' && errors.push(`${p.url()}: ${m.text()}`)));
        p.on('pageerror', (e) => errors.push(e.message));
      };
      const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, storageState: state });
      const page = await desk.newPage();
      watch(page);
      for (const url of ['/', '/hosts/web-02']) {
        await page.goto(base + url);
        const links = new Set(await page.evaluate<string[]>("[...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href') ?? '')"));
        expect(links.size, url).toBeGreaterThanOrEqual(2); // the host page links back to the fleet and out; the fleet page has many more
        const reached = new Set<string>();
        const unstyled: string[] = [];
        const stops = (await page.locator('a[href], button, input:not([type=hidden]), select, [tabindex="0"]').count()) + 5;
        for (let i = 0; i < stops; i++) {
          await page.keyboard.press('Tab');
          const f = await page.evaluate<{ href: string | null; outline: string; shadow: string } | null>(
            "(() => { const e = document.activeElement; if (!e || e === document.body) return null; const s = getComputedStyle(e); return { href: e.getAttribute('href'), outline: s.outlineStyle + ' ' + s.outlineWidth, shadow: s.boxShadow }; })()",
          );
          if (f?.href) reached.add(f.href);
          // A visible focus: an outline of some width, or a focus ring drawn as a box shadow.
          if (f && (f.outline.startsWith('none') || f.outline.endsWith(' 0px')) && f.shadow === 'none') unstyled.push(f.href ?? '(control)');
        }
        expect([...links].filter((l) => !reached.has(l)), url).toEqual([]);
        expect(unstyled, `${url}: focused without a visible focus`).toEqual([]);
      }
      await page.screenshot({ path: path.join(ARTIFACTS, '03-keyboard-focus.png') });
      await desk.close();
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, storageState: state });
      try {
        const p = await phone.newPage();
        watch(p);
        for (const [url, name] of [['/', '04-phone-fleet'], ['/hosts/web-02', '05-phone-host']] as const) {
          await p.goto(base + url);
          expect(await p.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1'), url).toBe(true);
          await p.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
        }
      } finally {
        await phone.close();
      }
      expect(errors).toEqual([]);
    });
  });
});
