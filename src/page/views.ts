/** The pages: overview (stacks table), one stack, history with filters, login and error pages. */
import type { Finding } from '../drift/model.js';
import type { Operation } from '../state/index.js';
import { ACTIONS, OPERATION_RESULTS, TRIGGERS } from '../state/schema.js';
import { badge, healthBadge, resultBadge, severityBadge, syncBadge } from './badges.js';
import { findingDiff, renderDiff } from './diff.js';
import { revision, time } from './format.js';
import { html, pathSegment, query, type Html } from './html.js';
import { shell } from './layout.js';
import type { HistoryView, Overview, StackDetail, StackRow } from './model.js';

/** Deploy-log excerpt: the last lines of a failed operation's output. */
export const LOG_EXCERPT_LINES = 40;

const stackHref = (name: string): string => `/stacks/${pathSegment(name)}`;

function lastSync(row: StackRow): Html {
  if (!row.last) return html`<span class="muted">never</span>`;
  return html`${badge(resultBadge(row.last.result))} ${row.last.action} ${time(row.last.at)}`;
}

function worstCell(row: StackRow): Html {
  if (!row.worst) return html`<span class="muted">none</span>`;
  const more = row.findingCount > 1 ? html` <span class="muted">(+${row.findingCount - 1} more)</span>` : '';
  return html`${badge(severityBadge(row.worst.severity))} <span class="kind">${row.worst.kind}</span>${more}`;
}

function stacksTable(rows: readonly StackRow[]): Html {
  if (rows.length === 0) return html`<p>No stacks are declared for this host or recorded in its state yet.</p>`;
  return html`<div class="table-wrap" role="region" aria-labelledby="stacks-caption" tabindex="0">
<table class="stacks">
<caption id="stacks-caption">Stacks on this host</caption>
<thead><tr><th scope="col">Stack</th><th scope="col">Desired</th><th scope="col">Deployed</th><th scope="col">Sync</th><th scope="col">Health</th><th scope="col">Worst finding</th><th scope="col">Last sync</th><th scope="col">Approval</th></tr></thead>
<tbody>
${rows.map(
  (r) => html`<tr>
<th scope="row"><a href="${stackHref(r.name)}">${r.name}</a>${r.pin ? html` <span class="pin">pinned ${r.pin}</span>` : ''}</th>
<td>${revision(r.desired)}</td>
<td>${revision(r.deployed)}</td>
<td>${badge(syncBadge(r.sync), 'sync')}${r.reason ? html`<div class="reason">${r.reason}</div>` : ''}</td>
<td>${badge(healthBadge(r.health), 'health')}</td>
<td>${worstCell(r)}</td>
<td>${lastSync(r)}</td>
<td>${r.pending ? html`<a href="${stackHref(r.name)}#approve">waiting: <code>${r.pending.slice(0, 12)}</code></a>` : html`<span class="muted">—</span>`}</td>
</tr>`,
)}
</tbody>
</table>
</div>`;
}

function driftNote(error: string | undefined): Html {
  return error ? html`<p class="note" role="status">Live drift could not be evaluated: ${error}. The table shows what the last sync recorded.</p>` : html``;
}

export interface RenderContext {
  /** For the logout and approve forms. */
  csrf: string;
  /** Signed in by cookie (a logout button makes sense). */
  cookie: boolean;
}

export function overviewPage(m: Overview, ctx: RenderContext): Html {
  return shell(
    { title: 'Stacks', current: 'overview', header: m.header, refresh: true, ...(ctx.cookie ? { logoutCsrf: ctx.csrf } : {}) },
    html`<h1>Stacks</h1>
${driftNote(m.driftError)}
${stacksTable(m.stacks)}
${m.unmanaged.length ? html`<h2>Not declared for this host</h2>${findingsList(m.unmanaged)}` : ''}`,
  );
}

function findingItem(f: Finding, i: number): Html {
  const diff = findingDiff(f);
  return html`<li class="finding">
<p>${badge(severityBadge(f.severity))} <span class="kind">${f.kind}</span>${f.service ? html` · service <strong>${f.service}</strong>` : ''}${f.field ? html` · <code>${f.field}</code>` : ''}</p>
<p class="message">${f.message}</p>
${diff ? renderDiff(diff, `diff ${i + 1}: ${f.kind}${f.service ? ` ${f.service}` : ''}`) : ''}
</li>`;
}

function findingsList(findings: readonly Finding[]): Html {
  return html`<ol class="findings">${findings.map(findingItem)}</ol>`;
}

function historyTable(rows: readonly Omit<Operation, 'output'>[], caption: string, withStack: boolean): Html {
  if (rows.length === 0) return html`<p>No history rows${withStack ? ' match these filters' : ''}.</p>`;
  return html`<div class="table-wrap" role="region" aria-label="${caption}" tabindex="0">
<table class="history">
<caption>${caption}</caption>
<thead><tr><th scope="col">When</th>${withStack ? html`<th scope="col">Stack</th>` : ''}<th scope="col">Action</th><th scope="col">Result</th><th scope="col">Revision</th><th scope="col">Trigger</th><th scope="col">Who</th><th scope="col">Message</th></tr></thead>
<tbody>
${rows.map(
  (o) => html`<tr>
<td>${time(o.finishedAt ?? o.startedAt)}</td>
${withStack ? html`<td>${o.stack ? html`<a href="${stackHref(o.stack)}">${o.stack}</a>` : html`<span class="muted">host</span>`}</td>` : ''}
<td>${o.action}</td>
<td>${badge(resultBadge(o.result))}</td>
<td>${o.revision ? html`<code title="${o.revision}">${o.revision.slice(0, 12)}</code>` : ''}</td>
<td>${o.trigger}</td>
<td>${o.actor}</td>
<td class="message">${o.message ?? ''}</td>
</tr>`,
)}
</tbody>
</table>
</div>`;
}

export function logExcerpt(output: string, lines = LOG_EXCERPT_LINES): { text: string; omitted: number } {
  const all = output.replace(/\n$/, '').split('\n');
  return { text: all.slice(-lines).join('\n'), omitted: Math.max(0, all.length - lines) };
}

function approveForm(m: StackDetail, ctx: RenderContext): Html {
  const pending = m.row.pending;
  if (!pending) return html``;
  return html`<section id="approve" class="approve" aria-labelledby="approve-h">
<h2 id="approve-h">Approval</h2>
<p>This stack syncs manually. Revision <code>${pending.slice(0, 12)}</code> waits for approval; the agent applies it on its next reconcile.</p>
<form method="post" action="/approve/${pathSegment(m.row.name)}">
<input type="hidden" name="csrf" value="${ctx.csrf}">
<input type="hidden" name="revision" value="${pending}">
<label for="write-token">Write token</label>
<input id="write-token" name="writeToken" type="password" autocomplete="off" required>
<button type="submit">Approve ${pending.slice(0, 12)}</button>
</form>
</section>`;
}

export function stackPage(m: StackDetail, ctx: RenderContext, notice?: string): Html {
  const r = m.row;
  return shell(
    { title: `Stack ${r.name}`, current: 'overview', header: m.header, refresh: true, ...(ctx.cookie ? { logoutCsrf: ctx.csrf } : {}) },
    html`<h1>Stack ${r.name}</h1>
${notice ? html`<p class="note ok" role="status">${notice}</p>` : ''}
<dl class="facts">
  <div><dt>Sync</dt><dd>${badge(syncBadge(r.sync), 'sync')}${r.reason ? html` ${r.reason}` : ''}</dd></div>
  <div><dt>Health</dt><dd>${badge(healthBadge(r.health), 'health')}</dd></div>
  <div><dt>Desired</dt><dd>${revision(r.desired)}</dd></div>
  <div><dt>Deployed</dt><dd>${revision(r.deployed)}</dd></div>
  <div><dt>Last sync</dt><dd>${lastSync(r)}</dd></div>
  ${r.pin ? html`<div><dt>Pinned</dt><dd>${r.pin}</dd></div>` : ''}
</dl>
${approveForm(m, ctx)}
<h2>Findings</h2>
${driftNote(m.driftError)}
${m.findings.length ? findingsList(m.findings) : m.driftError ? '' : html`<p>${badge(syncBadge('Synced'))} No drift: the host runs this stack as committed.</p>`}
<h2>Services and containers</h2>
${
  m.containers.length
    ? html`<div class="table-wrap" role="region" aria-label="Containers" tabindex="0"><table class="containers">
<caption>Containers of ${r.name}</caption>
<thead><tr><th scope="col">Service</th><th scope="col">Container</th><th scope="col">State</th><th scope="col">Image</th><th scope="col">Image digest</th><th scope="col">Revision</th></tr></thead>
<tbody>${m.containers.map(
        (c) => html`<tr><td>${c.service ?? ''}</td><td>${c.name}</td><td>${c.state}${c.health !== 'none' ? ` (${c.health})` : ''}</td><td><code>${c.image}</code></td>
<td>${c.digests.length ? c.digests.map((d) => html`<code class="digest">${d}</code> `) : html`<code class="digest" title="image ID">${c.imageId}</code>`}</td>
<td>${c.revision ? html`<code title="${c.revision}">${c.revision.slice(0, 12)}</code>` : ''}</td></tr>`,
      )}</tbody></table></div>`
    : html`<p>No containers of this stack are running on this host.</p>`
}
${m.failure?.output ? failureLog(m.failure) : ''}
<h2>History</h2>
${historyTable(m.history, `Last ${m.history.length} operations on ${r.name}`, false)}
<p><a href="/history${query({ stack: r.name })}">All history of ${r.name}</a></p>`,
  );
}

function failureLog(o: Operation): Html {
  const { text, omitted } = logExcerpt(o.output ?? '');
  return html`<h2>Deploy log of the last failure</h2>
<p>${badge(resultBadge(o.result))} ${o.action} ${o.revision ? html`<code>${o.revision.slice(0, 12)}</code>` : ''} ${time(o.finishedAt ?? o.startedAt)}: ${o.message ?? ''}</p>
${omitted ? html`<p class="muted">(${omitted} earlier lines not shown)</p>` : ''}
<pre class="log" tabindex="0" aria-label="Deploy log excerpt"><code>${text}</code></pre>`;
}

function select(name: string, label: string, options: readonly string[], current: string | undefined): Html {
  return html`<div class="field"><label for="f-${name}">${label}</label>
<select id="f-${name}" name="${name}"><option value="">any</option>${options.map((o) => html`<option${o === current ? html` selected` : ''}>${o}</option>`)}</select></div>`;
}

export function historyPage(m: HistoryView, ctx: RenderContext): Html {
  const f = m.filter;
  return shell(
    { title: 'History', current: 'history', header: m.header, refresh: true, ...(ctx.cookie ? { logoutCsrf: ctx.csrf } : {}) },
    html`<h1>History</h1>
<form class="filters" method="get" action="/history" role="search" aria-label="Filter history">
${select('stack', 'Stack', m.stacks, f.stack)}
${select('action', 'Action', ACTIONS, f.action)}
${select('result', 'Result', OPERATION_RESULTS, f.result)}
${select('trigger', 'Trigger', TRIGGERS, f.trigger)}
<div class="field"><label for="f-limit">Rows</label><input id="f-limit" name="limit" type="number" min="1" max="1000" value="${f.limit}"></div>
<div class="field"><button type="submit">Filter</button> <a href="/history">Clear</a></div>
</form>
${historyTable(m.rows, `${m.rows.length} operations, newest first`, true)}`,
  );
}

/** `closed`: why the page cannot be opened at all (no read token configured: which setting). */
export function loginPage(opts: { next: string; error?: string; closed?: string }): Html {
  return shell(
    { title: 'Sign in' },
    html`<h1>Sign in</h1>
${opts.closed ? html`<p class="note">The page is closed: ${opts.closed}.</p>` : ''}
${opts.error ? html`<p class="note bad" role="alert">${opts.error}</p>` : ''}
<form class="login" method="post" action="/login">
<input type="hidden" name="next" value="${opts.next}">
<label for="token">Read token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function errorPage(status: number, message: string): Html {
  return shell({ title: `Error ${status}` }, html`<h1>${status}</h1><p class="note bad" role="alert">${message}</p><p><a href="/">Back to the start page</a></p>`);
}
