import { describe, expect, it } from 'vitest';
import { badge, healthBadge, resultBadge, severityBadge, syncBadge } from '../../../src/page/badges.js';
import { findingDiff, renderDiff } from '../../../src/page/diff.js';
import { escapeHtml, html, Html } from '../../../src/page/html.js';
import { parseHistoryFilter, safeNext } from '../../../src/page/routes.js';
import { historyPage, logExcerpt, overviewPage, stackPage } from '../../../src/page/views.js';
import { scrub, scrubDeep } from '../../../src/util/scrub.js';
import { fixtureSource, HOSTILE } from '../../support/page-fixture.js';

const ctx = { csrf: 'csrf-token', cookie: true };
/** No raw `<script`, no unescaped quote inside markup that came from data. */
const noRawHostile = (page: string): void => {
  expect(page).not.toContain('<script>alert');
  expect(page).not.toContain('"x")');
  expect(page.match(/<script/g)).toHaveLength(1); // the page's own script tag, nothing else
};

describe('html escaping', () => {
  it('escapes every character that could end text or an attribute', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>\`&`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&#96;&amp;');
  });
  it('escapes values, nests Html as is, flattens arrays and drops null/undefined/booleans', () => {
    const inner = html`<b>${HOSTILE}</b>`;
    const out = html`<p title="${HOSTILE}">${inner}${[1, '<', [null, undefined, false, true, 'x']]}</p>`;
    expect(out).toBeInstanceOf(Html);
    expect(out.value).toBe(`<p title="${escapeHtml(HOSTILE)}"><b>${escapeHtml(HOSTILE)}</b>1&lt;x</p>`);
  });
});

describe('badges', () => {
  it.each([
    ['Synced', 'ok'],
    ['OutOfSync', 'warn'],
    ['Unknown', 'none'],
  ])('sync %s is %s with its word', (s, tone) => expect(syncBadge(s)).toMatchObject({ tone, text: s }));
  it.each([
    ['Healthy', 'ok'],
    ['Progressing', 'busy'],
    ['Degraded', 'bad'],
    ['Missing', 'warn'],
    ['Unknown', 'none'],
  ])('health %s is %s', (s, tone) => expect(healthBadge(s)).toMatchObject({ tone, text: s }));
  it('maps severities and operation results', () => {
    expect(severityBadge('error').tone).toBe('bad');
    expect(severityBadge('warning').tone).toBe('warn');
    expect(resultBadge('failed').tone).toBe('bad');
    expect(resultBadge('succeeded').tone).toBe('ok');
  });
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('a prototype key (%s) is an unknown badge, not a crash', (k) => {
    for (const f of [syncBadge, healthBadge, severityBadge, resultBadge]) expect(f(k)).toEqual({ tone: 'none', glyph: '?', text: k });
  });
  it('renders colour class, glyph and text, with a label for screen readers', () => {
    const b = badge(syncBadge('OutOfSync'), 'sync').value;
    expect(b).toContain('class="badge tone-warn"');
    expect(b).toContain('OutOfSync');
    expect(b).toContain('<span class="sr-only">sync: </span>');
    expect(b).toContain('aria-hidden="true"');
  });
});

describe('diffs', () => {
  it('makes a unified diff from a config-drift\'s desired and live values', () => {
    const d = findingDiff({ kind: 'config-drift', stack: 's', severity: 'warning', message: 'm', field: 'environment.GREETING', desired: 'hello', live: 'hello-hand' });
    expect(d).toContain('--- repo/environment.GREETING');
    expect(d).toContain('+++ live/environment.GREETING');
    expect(d).toContain('-hello\n');
    expect(d).toContain('+hello-hand\n');
  });
  it('keeps a finding\'s own diff and has none without values', () => {
    expect(findingDiff({ kind: 'revision-behind', stack: 's', severity: 'warning', message: 'm', diff: '@@ -1 +1 @@\n-a\n+b\n' })).toBe('@@ -1 +1 @@\n-a\n+b\n');
    expect(findingDiff({ kind: 'stack-missing', stack: 's', severity: 'error', message: 'm' })).toBeUndefined();
  });
  it('classes each line, highlights keys and escapes hostile lines', () => {
    const out = renderDiff(`--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n image: busybox\n-  FOO: "${HOSTILE}"\n+  FOO: bar\n`, 'diff 1').value;
    expect(out).toContain('<span class="d-file">--- a/x</span>');
    expect(out).toContain('<span class="d-hunk">@@ -1,2 +1,2 @@</span>');
    expect(out).toContain('<span class="d-del">-  <span class="d-key">FOO</span>:');
    expect(out).toContain('<span class="d-add">+  <span class="d-key">FOO</span>: bar</span>');
    expect(out).toContain('<span class="d-ctx"> <span class="d-key">image</span>: busybox</span>');
    expect(out).not.toContain('<script>');
    expect(out).toContain(escapeHtml(HOSTILE));
  });
});

describe('pages', () => {
  it('the overview has a semantic stacks table, badges and escapes every hostile value', async () => {
    const page = overviewPage(await fixtureSource().overview(), ctx).value;
    noRawHostile(page);
    expect(page).toContain('<caption id="stacks-caption">Stacks on this host</caption>');
    expect(page).toContain('<th scope="col">Sync</th>');
    expect(page).toContain('<a href="/stacks/web">web</a>');
    expect(page).toContain('<a href="/stacks/__proto__">__proto__</a>');
    expect(page).toContain('tone-warn');
    expect(page).toContain('waiting: <code>aaaaaaaaaaaa</code>');
    expect(page).toContain('<noscript><meta http-equiv="refresh" content="15"></noscript>');
    expect(page).toContain('deny &quot;0 8 * * 1-5&quot; for 10h (Europe/Berlin) on *');
    expect(page).toContain('<form class="logout" method="post" action="/logout"><input type="hidden" name="csrf" value="csrf-token">');
  });
  it('a Bearer client gets no sign-out button', async () => {
    expect(overviewPage(await fixtureSource().overview(), { csrf: 'c', cookie: false }).value).not.toContain('action="/logout"');
  });
  it('the stack page shows findings with diffs, containers with digests, history, the failure log and an approve form', async () => {
    const src = fixtureSource();
    const web = stackPage((await src.stack('web'))!, ctx).value;
    noRawHostile(web);
    expect(web).toContain('config-drift');
    expect(web).toContain('<span class="d-add">+hello-');
    expect(web).toContain('busybox@sha256:' + 'f'.repeat(64));
    expect(web).toContain('Deploy log of the last failure');
    expect(web).toContain('Error: boom');
    expect(web).not.toContain('id="approve"');
    const manual = stackPage((await src.stack('manual'))!, ctx).value;
    expect(manual).toContain('<form method="post" action="/approve/manual">');
    expect(manual).toContain('<input type="hidden" name="csrf" value="csrf-token">');
    expect(manual).toContain('<label for="write-token">Write token</label>');
  });
  it('the history page has labelled filters that keep the current choice', async () => {
    const page = historyPage(await fixtureSource().history({ result: 'failed', limit: 50 }), ctx).value;
    noRawHostile(page);
    expect(page).toContain('<label for="f-result">Result</label>');
    expect(page).toContain('<option selected>failed</option>');
    expect(page).toContain('value="50"');
    expect(page).toContain('1 operations, newest first');
  });
  it('a deploy-log excerpt keeps the last lines and counts the rest', () => {
    const out = Array.from({ length: 100 }, (_, i) => `l${i}`).join('\n');
    expect(logExcerpt(out, 3)).toEqual({ text: 'l97\nl98\nl99', omitted: 97 });
    expect(logExcerpt('a\nb\n')).toEqual({ text: 'a\nb', omitted: 0 });
  });
});

describe('history filters', () => {
  it('reads known filters and ignores malformed ones', () => {
    expect(parseHistoryFilter(new URLSearchParams('stack=web&result=failed&limit=20'))).toEqual({ stack: 'web', result: 'failed', limit: 20 });
    expect(parseHistoryFilter(new URLSearchParams('stack=<x>&limit=-5'))).toEqual({ limit: 200 });
    expect(parseHistoryFilter(new URLSearchParams('limit=99999&action=' + 'x'.repeat(100)))).toEqual({ limit: 200 });
    expect(parseHistoryFilter(new URLSearchParams(''))).toEqual({ limit: 200 });
  });
});

describe('login redirect target', () => {
  it.each([
    ['/stacks/web', '/stacks/web'],
    ['/history?stack=web', '/history?stack=web'],
    ['//evil.example/', '/'],
    ['/\\evil.example', '/'],
    ['https://evil.example/', '/'],
    ['/x\r\nSet-Cookie: a=b', '/'],
    [undefined, '/'],
  ])('%s → %s', (input, out) => expect(safeNext(input)).toBe(out));
});

describe('scrubbing', () => {
  it('removes known secrets and URL passwords from every string, keeping prototype keys as data', () => {
    const model = JSON.parse('{"__proto__": {"msg": "token s3cr3t-value in git://u:pw0rd@host/x"}, "list": ["s3cr3t-value"]}') as Record<string, unknown>;
    const out = scrubDeep(model, ['s3cr3t-value']);
    const text = JSON.stringify(out);
    expect(text).not.toContain('s3cr3t-value');
    expect(text).not.toContain('pw0rd');
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
  it('redacts the password of a scheme://user:password@host URL only', () => {
    expect(scrub('see https://bob:hunter22@git.example/r and https://git.example/x')).toMatch(/^see https:\/\/bob:sha256:[0-9a-f]{12}@git\.example\/r and https:\/\/git\.example\/x$/);
  });
});

describe('the target signer in the header', () => {
  const withSignature = async (signature: NonNullable<Awaited<ReturnType<ReturnType<typeof fixtureSource>['overview']>>['header']['signature']>): Promise<string> => {
    const o = await fixtureSource().overview();
    return overviewPage({ ...o, header: { ...o.header, signature } }, ctx).value;
  };
  it('shows nothing with verification off (no signature in the model)', async () => {
    expect(overviewPage(await fixtureSource().overview(), ctx).value).not.toContain('Signed by');
  });
  it('names each verified object, its signer and fingerprint, escaped', async () => {
    const page = await withSignature({
      state: 'verified',
      signers: [
        { object: 'tag', kind: 'openpgp', fingerprint: 'ABCDEF0123456789', principal: `Release Bot ${HOSTILE}` },
        { object: 'commit', kind: 'ssh', fingerprint: 'SHA256:xyz' },
      ],
    });
    expect(page).toContain('<dt>Signed by</dt>');
    expect(page).toContain('tag: Release Bot &lt;script&gt;');
    expect(page).toContain('<code class="fingerprint">ABCDEF0123456789</code> (OpenPGP)');
    expect(page).toContain('commit: <code class="fingerprint">SHA256:xyz</code> (SSH)');
    noRawHostile(page);
  });
  it('says refused with the reason, or not verified yet', async () => {
    expect(await withSignature({ state: 'refused', message: `unknown key ${HOSTILE}` })).toMatch(/tone-bad[^]*refused<\/span> unknown key &lt;script&gt;/);
    expect(await withSignature({ state: 'unverified' })).toContain('not verified yet');
  });
});
