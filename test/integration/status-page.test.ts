/**
 * The agent's status page in a real headless Chromium (Debian's chromium driven by
 * playwright-core), against a real `driftd agent` that deploys real stacks with Compose: badges
 * after a deploy, a failure's deploy log, history filters, approve with and without the write
 * token and CSRF token, config-drift with its diff after a hand edit, a keyboard-only run over
 * every link, phone and print views, no console errors. Screenshots go to test-artifacts/.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAgent } from '../faults/support.js';
import { pollUntil, useDockerTestScope } from '../support/docker.js';
import { fleetYaml, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { composeByHand, ROOT } from './drift-support.js';

const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => existsSync(p));
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'status-page');
const WRITE = 'write-token-for-the-page-test';
const WAIT = { timeoutMs: 180_000, intervalMs: 1_000 };

describe.skipIf(!CHROMIUM)('status page in headless Chromium', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  let agent: HttpAgent;
  let browser: Browser;
  let context: BrowserContext;
  /** Console errors and page errors of every page that should load cleanly. */
  const consoleErrors: string[] = [];
  let web: string;
  let gated: string;
  let broken: string;

  const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  async function cleanPage(ctx: BrowserContext = context): Promise<Page> {
    const page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
    return page;
  }

  /** Reloads `url` until `ready` holds (the page memoises live drift for 10 s). */
  async function showing(page: Page, url: string, ready: (p: Page) => Promise<boolean>): Promise<void> {
    await pollUntil(`${url} to show what the test waits for`, async () => {
      await page.goto(agent.base + url);
      return (await ready(page)) ? true : undefined;
    }, WAIT);
  }

  /** The `td` cells of a stacks row (the stack name is the row's `th`, so cells count from Desired). */
  const COL = { desired: 0, deployed: 1, sync: 2, health: 3, worst: 4, last: 5, approval: 6 } as const;
  const rowOf = (page: Page, stack: string) => page.locator('table.stacks tbody tr').filter({ has: page.locator(`th a[href="/stacks/${stack}"]`) });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    world = await SyncWorld.create({ labels: env.labels });
    [web, gated, broken] = [env.project(), env.project(), env.project()];
    world.repo
      .writeStack(web, { 'compose.yaml': world.composeFile({ app: { image: TEST_IMAGES.worker10, environment: { GREETING: 'hello' } } }) })
      .writeStack(gated, { 'compose.yaml': world.composeFile({ worker: { image: TEST_IMAGES.worker10 } }) })
      .writeStack(broken, { 'compose.yaml': world.composeFile({ app: { image: TEST_IMAGES.appUnhealthy } }) })
      .writeFleet(fleetYaml(world.host, [web, gated, broken], { [gated]: { sync: 'manual' } }));
    await world.release('v1.0.0');
    const writeFile = path.join(world.dir, 'write.token');
    writeFileSync(writeFile, `${WRITE}\n`, { mode: 0o600 });
    agent = await HttpAgent.start(world, { extra: `  writeTokenFile: ${writeFile}\n` });
    await agent.idleAfter(1, 600_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await world?.close();
  });

  it('every page without a token goes to the login form (browser) or is refused (no cookie, wrong Bearer)', async () => {
    const anon = await browser.newContext();
    try {
      const page = await anon.newPage();
      for (const p of ['/', '/history', `/stacks/${web}`]) {
        await page.goto(agent.base + p);
        expect(new URL(page.url()).pathname).toBe('/login');
        expect(await page.locator('label[for="token"]').textContent()).toBe('Read token');
      }
      for (const p of ['/', '/history', `/stacks/${web}`]) {
        expect((await fetch(agent.base + p, { redirect: 'manual' })).status).toBe(303);
        expect((await fetch(agent.base + p, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      }
      expect((await fetch(`${agent.base}/approve/${gated}`, { method: 'POST' })).status).toBe(401);
    } finally {
      await anon.close();
    }
  });

  it('after a real deploy: sign in by the form, the stacks table shows the right badges', async () => {
    const page = await cleanPage();
    await page.goto(`${agent.base}/`);
    await page.fill('#token', HttpAgent.READ);
    await Promise.all([page.waitForURL(`${agent.base}/`), page.click('form.login button')]);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'driftd_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(session?.value).not.toContain(HttpAgent.READ);

    await showing(page, '/', async (p) => (await rowOf(p, web).count()) === 1 && (await rowOf(p, broken).locator('td').nth(COL.last).textContent())?.includes('failed') === true);
    const webRow = rowOf(page, web);
    expect(await webRow.locator('td').nth(COL.sync).textContent()).toContain('Synced');
    expect(await webRow.locator('td').nth(COL.health).textContent()).toContain('Healthy');
    expect(await webRow.locator('td .badge').first().getAttribute('class')).toBe('badge tone-ok');
    const gatedRow = rowOf(page, gated);
    expect(await gatedRow.locator('td').nth(COL.sync).textContent()).toContain('OutOfSync');
    expect(await gatedRow.locator('td').nth(COL.sync).locator('.badge').getAttribute('class')).toBe('badge tone-warn');
    expect(await gatedRow.locator('td').nth(COL.approval).textContent()).toMatch(/waiting: [0-9a-f]{12}/);
    expect(await rowOf(page, broken).locator('td').nth(COL.last).textContent()).toContain('failed');
    // Colour AND text: the Synced and OutOfSync badges differ in colour, not only in words.
    // Plain expressions, not function strings: a function string comes back undefined here.
    const bg = (sel: string): Promise<unknown> => page.evaluate(`getComputedStyle(document.querySelector(${JSON.stringify(sel)})).backgroundColor`);
    expect(await bg('.badge.tone-ok')).toMatch(/^rgb/);
    expect(await bg('.badge.tone-ok')).not.toBe(await bg('.badge.tone-warn'));
    expect(await page.locator('dl.facts').first().textContent()).toContain('v1.0.0');
    await shot(page, '01-overview');
    await page.close();
  });

  it('the stack page of a failed deploy shows its deploy log; history filters narrow the rows', async () => {
    const page = await cleanPage();
    await page.goto(`${agent.base}/stacks/${broken}`);
    expect(await page.locator('h2', { hasText: 'Deploy log of the last failure' }).count()).toBe(1);
    expect((await page.locator('pre.log').textContent())?.length).toBeGreaterThan(0);
    expect(await page.locator('table.history tbody tr').count()).toBeGreaterThan(0);
    await shot(page, '02-stack-failed');

    await page.goto(`${agent.base}/history`);
    const all = await page.locator('table.history tbody tr').count();
    await page.selectOption('#f-stack', broken);
    await page.selectOption('#f-result', 'failed');
    await Promise.all([page.waitForURL(/\/history\?/), page.click('form.filters button')]);
    const rows = page.locator('table.history tbody tr');
    expect(await rows.count()).toBeGreaterThan(0);
    expect(await rows.count()).toBeLessThan(all);
    for (const text of await rows.allTextContents()) {
      expect(text).toContain(broken);
      expect(text).toContain('failed');
    }
    await shot(page, '03-history-filtered');
    await page.close();
  });

  it('a keyboard-only run reaches every link, skip link first', async () => {
    const page = await cleanPage();
    for (const url of ['/', `/stacks/${web}`, '/history']) {
      await page.goto(agent.base + url);
      const links = new Set(await page.evaluate<string[]>("[...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href') ?? '')"));
      expect(links.size, url).toBeGreaterThan(2);
      const reached = new Set<string>();
      const stops = (await page.locator('a[href], button, input:not([type=hidden]), select, [tabindex="0"]').count()) + 5;
      for (let i = 0; i < stops; i++) {
        await page.keyboard.press('Tab');
        const href = await page.evaluate<string | null>("document.activeElement?.getAttribute('href') ?? null");
        if (i === 0) expect(href).toBe('#main');
        if (href !== null) reached.add(href);
      }
      expect([...links].filter((l) => !reached.has(l)), url).toEqual([]);
    }
    await page.close();
  });

  it('approve works with the write token and the CSRF token, and fails without either', async () => {
    const refusals = await context.newPage();
    await refusals.goto(`${agent.base}/stacks/${gated}`);
    const csrf = await refusals.locator('#approve input[name="csrf"]').getAttribute('value');
    const revision = await refusals.locator('#approve input[name="revision"]').getAttribute('value');
    expect(csrf).toBeTruthy();
    // The form with a wrong write token: refused, nothing approved.
    await refusals.fill('#write-token', 'not-the-write-token');
    await refusals.click('#approve button');
    await refusals.waitForLoadState();
    expect(await refusals.locator('[role="alert"]').textContent()).toContain('write token');
    // The session cookie and the right write token, but no (or a wrong) CSRF token: refused.
    for (const bad of ['', `${csrf}x`]) {
      const r = await context.request.post(`${agent.base}/approve/${gated}`, { form: { csrf: bad, writeToken: WRITE, revision: revision ?? '' }, maxRedirects: 0 });
      expect(r.status()).toBe(403);
    }
    // The read token alone (Bearer, no write token): refused.
    const bearer = await fetch(`${agent.base}/approve/${gated}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${HttpAgent.READ}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: csrf ?? '', revision: revision ?? '' }).toString(),
      redirect: 'manual',
    });
    expect(bearer.status).toBe(403);
    await refusals.close();
    const still = (await (await agent.get('/status')).json()) as { stacks: { stack: string }[] };
    expect(still.stacks.some((s) => s.stack === gated)).toBe(true);

    // The form with the write token (and its CSRF token): approved, a reconcile deploys it.
    const page = await cleanPage();
    await page.goto(`${agent.base}/stacks/${gated}`);
    await page.fill('#write-token', WRITE);
    await Promise.all([page.waitForURL(/\?approved=[0-9a-f]{12}$/), page.click('#approve button')]);
    expect(await page.locator('.note.ok').textContent()).toContain('Approved');
    await shot(page, '04-approved');
    await showing(page, '/', async (p) => (await rowOf(p, gated).locator('td').nth(COL.sync).textContent())?.includes('Synced') === true);
    expect(await rowOf(page, gated).locator('td').nth(COL.approval).textContent()).not.toContain('waiting');
    await page.close();
  });

  it('after a hand edit (a container recreated with another env value) the stack shows config-drift with its diff', async () => {
    await agent.idleAfter(agent.cycles);
    const dir = path.join(world.dataDir, 'deploy', web);
    const file = path.join(dir, 'driftd.compose.yaml');
    const model = parse(readFileSync(file, 'utf8')) as { services: Record<string, { environment: Record<string, string> }> };
    model.services.app!.environment.GREETING = 'hello-by-hand';
    writeFileSync(file, stringify(model));
    await composeByHand(dir, web, ['up', '-d'], { files: ['driftd.compose.yaml'] });

    const page = await cleanPage();
    await showing(page, `/stacks/${web}`, async (p) => (await p.locator('li.finding', { hasText: 'config-drift' }).count()) > 0);
    const finding = page.locator('li.finding', { hasText: 'config-drift' });
    expect(await finding.textContent()).toContain('environment.GREETING');
    expect(await finding.locator('pre.diff .d-del').allTextContents()).toContain('-hello');
    expect(await finding.locator('pre.diff .d-add').allTextContents()).toContain('+hello-by-hand');
    expect(await page.locator('table.containers code.digest').first().textContent()).toMatch(/sha256:[0-9a-f]{64}/);
    await shot(page, '05-config-drift');
    await showing(page, '/', async (p) => (await rowOf(p, web).locator('td').nth(COL.sync).textContent())?.includes('OutOfSync') === true);
    expect(await rowOf(page, web).locator('td').nth(COL.worst).textContent()).toContain('config-drift');
    await page.close();
  });

  it('auto-refresh swaps the content in place and keeps the scroll position', async () => {
    const small = await browser.newContext({ viewport: { width: 1000, height: 400 }, storageState: await context.storageState() });
    try {
      const page = await cleanPage(small);
      await page.goto(`${agent.base}/stacks/${broken}`);
      const before = await page.locator('p.updated time').getAttribute('datetime');
      await page.evaluate('window.scrollTo(0, 300)');
      // Polled from here: waitForFunction evaluates a string in the page, which its CSP (no unsafe-eval) refuses.
      await pollUntil('the page to refresh itself', async () => ((await page.locator('p.updated time').getAttribute('datetime')) !== before ? true : undefined), { timeoutMs: 120_000, intervalMs: 500 });
      expect(await page.evaluate('window.scrollY')).toBe(300);
    } finally {
      await small.close();
    }
  });

  it('reads on a phone (no sideways scrolling of the page) and prints without navigation or forms', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, storageState: await context.storageState() });
    try {
      const page = await cleanPage(phone);
      await page.goto(`${agent.base}/`);
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1')).toBe(true);
      await shot(page, '06-phone');
      await page.emulateMedia({ media: 'print' });
      expect(await page.locator('header.top nav').isVisible()).toBe(false);
      await shot(page, '07-print');
    } finally {
      await phone.close();
    }
  });

  it('logged no console errors on any page that loaded normally', () => {
    expect(consoleErrors).toEqual([]);
  });
});
