/**
 * The hub's pages (docs/hub.md), made with the status page's own pieces (page/html, badges,
 * format, layout): the fleet matrix (hosts × stacks) with its filters, rollout, stragglers,
 * silent hosts and drift per stack; one host's latest report; the login and error pages are
 * the status page's. Every value passes the one escaping template.
 */
import { badge, healthBadge, resultBadge, severityBadge, syncBadge, type Badge } from '../page/badges.js';
import { revision, time } from '../page/format.js';
import { html, pathSegment, query, type Html } from '../page/html.js';
import { shell, type NavItem } from '../page/layout.js';
import { STATUS_FILTERS, type FilteredFleet, type FleetFilter, type FleetView, type HostView } from './fleet.js';
import type { HostRecord } from './fleet.js';
import type { ReportStack } from './report.js';

export const HUB_NAV: readonly NavItem[] = [{ id: 'fleet', href: '/', text: 'Fleet' }];

export interface HubRenderContext {
  csrf: string;
  cookie: boolean;
}

const STATE_BADGE: Record<HostView['state'], Badge> = {
  synced: { tone: 'ok', glyph: '✔', text: 'synced' },
  'out-of-sync': { tone: 'warn', glyph: '↻', text: 'out of sync' },
  silent: { tone: 'bad', glyph: '⏸', text: 'silent' },
};
const STRAGGLER: Badge = { tone: 'warn', glyph: '⏳', text: 'straggler' };

export const hostHref = (host: string): string => `/hosts/${pathSegment(host)}`;

function hostState(h: HostView): Html {
  return html`${badge(STATE_BADGE[h.state], 'host')}${h.straggler ? html` ${badge(STRAGGLER)}` : ''}`;
}

function cell(s: ReportStack | undefined): Html {
  if (!s) return html`<td class="none"><span class="muted" title="not on this host">—</span></td>`;
  return html`<td>${revision(s.deployed)}<br>${badge(syncBadge(s.sync), 'sync')} ${badge(healthBadge(s.health), 'health')}${s.findings > 0 ? html` <span class="muted" title="drift findings">${s.findings}⚑</span>` : ''}</td>`;
}

function rolloutText(v: FleetView): Html {
  const n = v.newest;
  if (!n) return html`<span class="muted">no host has reported a target yet</span>`;
  return html`${revision(n)}: <strong>${n.synced}/${n.hosts}</strong> hosts synced, ${n.rolledBack} rolled back, ${n.pending} pending <span class="muted">(first seen ${time(n.firstSeen)})</span>`;
}

function select(name: string, label: string, values: readonly string[], current: string | undefined, any = 'any'): Html {
  return html`<div class="field"><label for="f-${name}">${label}</label><select id="f-${name}" name="${name}">${any ? html`<option value="">${any}</option>` : ''}${values.map((v) => html`<option${v === current ? html` selected` : ''}>${v}</option>`)}</select></div>`;
}

function pager(f: FleetFilter, matched: number): Html {
  if (matched <= f.limit) return html``;
  const base = { host: f.host, stack: f.stack, status: f.status === 'all' ? undefined : f.status, limit: f.limit };
  const prev = f.offset > 0 ? html`<a href="/${query({ ...base, offset: Math.max(0, f.offset - f.limit) || undefined })}" rel="prev">Previous ${f.limit}</a>` : '';
  const next = f.offset + f.limit < matched ? html`<a href="/${query({ ...base, offset: f.offset + f.limit })}" rel="next">Next ${f.limit}</a>` : '';
  return html`<p class="pager">Hosts ${f.offset + 1}–${Math.min(matched, f.offset + f.limit)} of ${matched}. ${prev} ${next}</p>`;
}

function matrix(rows: FilteredFleet): Html {
  if (rows.hosts.length === 0) return html`<p>No host matches these filters.</p>`;
  return html`<div class="table-wrap" role="region" aria-labelledby="fleet-caption" tabindex="0">
<table class="fleet">
<caption id="fleet-caption">Hosts × stacks: deployed revision, sync and health</caption>
<thead><tr><th scope="col">Host</th><th scope="col">State</th><th scope="col">Target</th><th scope="col">Last report</th>${rows.stacks.map((s) => html`<th scope="col" class="stack">${s}</th>`)}</tr></thead>
<tbody>
${rows.hosts.map((h) => {
  const byName = new Map(h.stacks.map((s) => [s.name, s]));
  return html`<tr data-host="${h.host}">
<th scope="row"><a href="${hostHref(h.host)}">${h.host}</a></th>
<td>${hostState(h)}${h.targetError ? html`<div class="reason">${h.targetError}</div>` : ''}</td>
<td>${revision(h.target)}</td>
<td>${h.lastSeen ? time(h.lastSeen) : html`<span class="muted">never</span>`}</td>
${rows.stacks.map((s) => cell(byName.get(s)))}
</tr>`;
})}
</tbody>
</table>
</div>`;
}

function stackSummary(v: FleetView): Html {
  if (v.stackSummary.length === 0) return html``;
  return html`<h2 id="drift">Drift per stack</h2>
<div class="table-wrap" role="region" aria-labelledby="drift-caption" tabindex="0">
<table class="drift">
<caption id="drift-caption">Per stack across the fleet</caption>
<thead><tr><th scope="col">Stack</th><th scope="col">Hosts</th><th scope="col">Out of sync</th><th scope="col">Degraded or missing</th><th scope="col">Drift findings</th></tr></thead>
<tbody>${v.stackSummary.map((s) => html`<tr><th scope="row"><a href="/${query({ stack: s.stack })}">${s.stack}</a></th><td>${s.hosts}</td><td>${s.outOfSync}</td><td>${s.unhealthy}</td><td>${s.findings}</td></tr>`)}</tbody>
</table>
</div>`;
}

function targets(v: FleetView): Html {
  if (v.targets.length === 0) return html``;
  return html`<h2 id="targets">Targets</h2>
<div class="table-wrap" role="region" aria-labelledby="targets-caption" tabindex="0">
<table class="targets">
<caption id="targets-caption">Revisions the reporting hosts track, newest first</caption>
<thead><tr><th scope="col">Target</th><th scope="col">First seen</th><th scope="col">Hosts</th></tr></thead>
<tbody>${v.targets.map((t) => html`<tr><th scope="row">${revision(t)}</th><td>${time(t.firstSeen)}</td><td>${t.hosts}</td></tr>`)}</tbody>
</table>
</div>`;
}

export function fleetPage(v: FleetView, rows: FilteredFleet, f: FleetFilter, ctx: HubRenderContext): Html {
  const s = v.summary;
  const statusLink = (status: string, n: number, text: string): Html => html`<a href="/${query({ status })}">${n} ${text}</a>`;
  return shell(
    { title: 'Fleet', current: 'fleet', nav: HUB_NAV, subject: 'fleet', refresh: true, generatedAt: v.generatedAt, ...(ctx.cookie ? { logoutCsrf: ctx.csrf } : {}) },
    html`<h1>Fleet</h1>
<section class="host" aria-label="Fleet summary">
<dl class="facts">
  <div><dt>Hosts</dt><dd>${s.hosts}: ${statusLink('synced', s.synced, 'synced')}, ${statusLink('out-of-sync', s.outOfSync, 'out of sync')}, ${statusLink('silent', s.silent, 'silent')}</dd></div>
  <div><dt>Stragglers</dt><dd>${statusLink('stragglers', s.stragglers, 'not on the newest target')}</dd></div>
  <div class="rollout"><dt>Rollout of the newest target</dt><dd>${rolloutText(v)}</dd></div>
</dl>
</section>
<form class="filters" method="get" action="/" role="search" aria-label="Filter hosts">
<div class="field"><label for="f-host">Host contains</label><input id="f-host" name="host" type="search" maxlength="253" value="${f.host ?? ''}"></div>
${select('stack', 'Stack', v.stacks, f.stack)}
${select('status', 'Status', STATUS_FILTERS, f.status, '')}
<div class="field"><label for="f-limit">Rows</label><input id="f-limit" name="limit" type="number" min="1" max="2000" value="${f.limit}"></div>
<div class="field"><button type="submit">Filter</button> <a href="/">Clear</a></div>
</form>
${pager(f, rows.matched)}
${matrix(rows)}
${stackSummary(v)}
${targets(v)}`,
  );
}

function hostStacks(stacks: readonly ReportStack[]): Html {
  if (stacks.length === 0) return html`<p>This host reported no stacks.</p>`;
  return html`<div class="table-wrap" role="region" aria-labelledby="stacks-caption" tabindex="0">
<table class="stacks">
<caption id="stacks-caption">Stacks in the host's latest report</caption>
<thead><tr><th scope="col">Stack</th><th scope="col">Desired</th><th scope="col">Deployed</th><th scope="col">Sync</th><th scope="col">Health</th><th scope="col">Worst finding</th><th scope="col">Last operation</th><th scope="col">Approval</th></tr></thead>
<tbody>${stacks.map(
    (s) => html`<tr>
<th scope="row">${s.name}${s.pin ? html` <span class="pin">pinned ${s.pin}</span>` : ''}</th>
<td>${revision(s.desired)}</td>
<td>${revision(s.deployed)}</td>
<td>${badge(syncBadge(s.sync), 'sync')}${s.reason ? html`<div class="reason">${s.reason}</div>` : ''}</td>
<td>${badge(healthBadge(s.health), 'health')}</td>
<td>${s.worstKind ? html`${badge(severityBadge(s.worstSeverity ?? 'info'))} <span class="kind">${s.worstKind}</span>${s.findings > 1 ? html` <span class="muted">(+${s.findings - 1} more)</span>` : ''}` : html`<span class="muted">none</span>`}</td>
<td>${s.last ? html`${badge(resultBadge(s.last.result))} ${s.last.action} ${time(s.last.at)}` : html`<span class="muted">never</span>`}</td>
<td>${s.pending ? html`waiting: <code>${s.pending.slice(0, 12)}</code>` : html`<span class="muted">—</span>`}</td>
</tr>`,
  )}</tbody>
</table>
</div>`;
}

export function hostPage(h: HostView, history: readonly HostRecord[], generatedAt: string, ctx: HubRenderContext): Html {
  return shell(
    { title: h.host, current: 'fleet', nav: HUB_NAV, subject: 'fleet', refresh: true, generatedAt, ...(ctx.cookie ? { logoutCsrf: ctx.csrf } : {}) },
    html`<h1>${h.host}</h1>
<section class="host" aria-label="Host">
<dl class="facts">
  <div><dt>State</dt><dd>${hostState(h)}</dd></div>
  <div><dt>Target</dt><dd>${h.target ? revision(h.target) : html`<span class="badge tone-none">? Unknown</span> ${h.targetError ?? ''}`}</dd></div>
  <div><dt>Last report</dt><dd>${h.lastSeen ? time(h.lastSeen) : 'never'}</dd></div>
  <div><dt>Last reconcile</dt><dd>${h.lastRun ? html`${time(h.lastRun.at)} (${h.lastRun.ok ? 'ok' : html`failed: ${h.lastRun.error ?? ''}`})` : 'not reported'}</dd></div>
  <div><dt>driftd</dt><dd>${h.version ?? '—'}</dd></div>
</dl>
</section>
<h2>Stacks</h2>
${hostStacks(h.stacks)}
<h2>Recent reports</h2>
${history.length === 0 ? html`<p>None stored.</p>` : html`<ol class="reports">${history.map((r) => html`<li>${time(r.receivedAt)} ${r.report.kind}: ${r.report.stacks.length} stacks, ${r.report.stacks.filter((s) => s.sync !== 'Synced').length} out of sync${r.report.target ? html`, target ${revision(r.report.target)}` : ''}</li>`)}</ol>`}
<p><a href="/">Back to the fleet</a></p>`,
  );
}
