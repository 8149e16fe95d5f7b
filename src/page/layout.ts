/** The page shell: head (no inline script or style: CSP), skip link, nav, the header block, footer. */
import { html, type Html, type Part } from './html.js';
import type { PageHeader } from './model.js';
import { revision, time, windowText } from './format.js';

export const REFRESH_SECONDS = 15;

export interface NavItem {
  id: string;
  href: string;
  text: string;
}

/** The agent's pages; the hub passes its own. */
export const AGENT_NAV: readonly NavItem[] = [
  { id: 'overview', href: '/', text: 'Stacks' },
  { id: 'history', href: '/history', text: 'History' },
];

export interface ShellOptions {
  title: string;
  /** Which nav entry is current (no nav at all without it: login and error pages). */
  current?: string;
  nav?: readonly NavItem[];
  /** The brand line's subject and the title's suffix when there is no agent header (the hub: "fleet"). */
  subject?: string;
  /** The "Generated …" line for pages without an agent header. */
  generatedAt?: string;
  header?: PageHeader;
  /** Auto-refresh this page (meta refresh without JS, a fetch loop that keeps scroll with it). */
  refresh?: boolean;
  /** CSRF token for the logout form; absent when signed in by Bearer (nothing to log out of). */
  logoutCsrf?: string;
}

function signatureText(sig: NonNullable<PageHeader['signature']>): Html {
  if (sig.state === 'refused') return html`<span class="badge tone-bad"><span aria-hidden="true">⛔</span> refused</span> ${sig.message}`;
  if (sig.state === 'unverified') return html`<span class="muted">not verified yet</span>`;
  return html`<ul class="inline">${sig.signers.map((s) => html`<li>${s.object}: ${s.principal ? html`${s.principal} ` : ''}<code class="fingerprint">${s.fingerprint}</code> (${s.kind === 'ssh' ? 'SSH' : 'OpenPGP'})</li>`)}</ul>`;
}

function headerBlock(h: PageHeader): Html {
  return html`<section class="host" aria-label="Agent">
<dl class="facts">
  <div><dt>Host</dt><dd>${h.host}</dd></div>
  <div><dt>Ref policy</dt><dd>${h.refPolicy}</dd></div>
  <div><dt>Target</dt><dd>${h.target ? revision(h.target) : html`<span class="badge tone-none">? Unknown</span> ${h.targetError ?? ''}`}</dd></div>
${h.signature ? html`<div><dt>Signed by</dt><dd>${signatureText(h.signature)}</dd></div>` : ''}
  <div><dt>Last poll</dt><dd>${h.lastPoll ? html`${time(h.lastPoll.at)} (${h.lastPoll.ok ? 'ok' : html`failed: ${h.lastPoll.error ?? ''}`}, ${Math.round(h.lastPoll.durationMs / 100) / 10} s)` : 'not yet'}${h.busy ? ' · reconciling now' : ''}</dd></div>
  <div><dt>Next poll</dt><dd>${h.nextPoll ? time(h.nextPoll) : 'on the next trigger'}</dd></div>
  <div><dt>driftd</dt><dd>${h.version}</dd></div>
  <div><dt>Pins</dt><dd>${h.pins.length === 0 ? 'none' : html`<ul class="inline">${h.pins.map((p) => html`<li>${p.stack ?? 'whole host'} → ${p.tag} <code>${p.commit.slice(0, 12)}</code> by ${p.by}</li>`)}</ul>`}</dd></div>
  <div><dt>Sync windows</dt><dd>${h.windows.length === 0 ? 'none (always open)' : html`<ul class="inline">${h.windows.map((w) => html`<li>${windowText(w)}</li>`)}</ul>`}</dd></div>
</dl>
</section>`;
}

export function shell(opts: ShellOptions, body: Part): Html {
  const nav = (n: NavItem): Html => html`<li><a href="${n.href}"${opts.current === n.id ? html` aria-current="page"` : ''}>${n.text}</a></li>`;
  const subject = opts.header?.host ?? opts.subject;
  const generatedAt = opts.header?.generatedAt ?? opts.generatedAt;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
${opts.refresh ? html`<noscript><meta http-equiv="refresh" content="${REFRESH_SECONDS}"></noscript>` : ''}
<title>${opts.title} · driftd${subject ? ` · ${subject}` : ''}</title>
<link rel="stylesheet" href="/assets/page.css">
<script src="/assets/page.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<p class="brand"><a href="/">driftd</a>${opts.header ? html` <span class="muted">on</span> ${opts.header.host}` : opts.subject ? html` <span class="muted">·</span> ${opts.subject}` : ''}</p>
${opts.current ? html`<nav aria-label="Pages"><ul>${(opts.nav ?? AGENT_NAV).map(nav)}</ul></nav>` : ''}
${opts.logoutCsrf ? html`<form class="logout" method="post" action="/logout"><input type="hidden" name="csrf" value="${opts.logoutCsrf}"><button type="submit">Sign out</button></form>` : ''}
</header>
<main id="main"${opts.refresh ? html` data-refresh="${REFRESH_SECONDS}"` : ''}>
${opts.header ? headerBlock(opts.header) : ''}
${body}
${generatedAt ? html`<p class="updated muted">Generated ${time(generatedAt)}${opts.refresh ? html`; refreshes every ${REFRESH_SECONDS} s` : ''}.</p>` : ''}
</main>
</body>
</html>
`;
}
