/** Small text formats shared by the views. */
import { html, type Html } from './html.js';
import type { PageHeader, RevisionView } from './model.js';
import { shortDuration } from '../util/text.js';

/** `v1.2.0 (abc123def456)`, or the short commit alone. */
export function revision(r: RevisionView | undefined): Html {
  if (!r) return html`<span class="muted">—</span>`;
  return html`${r.ref ? html`<span class="ref">${r.ref}</span> ` : ''}<code title="${r.commit}">${r.commit.slice(0, 12)}</code>`;
}

/** A machine-readable `<time>` with a short UTC text (the page is read across time zones). */
export function time(iso: string): Html {
  const d = new Date(iso);
  const text = Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return html`<time datetime="${iso}">${text}</time>`;
}


export function windowText(w: PageHeader['windows'][number]): string {
  return `${w.kind} "${w.schedule}" for ${shortDuration(w.durationMs)} (${w.timezone}) on ${w.stacks.length ? w.stacks.join(', ') : '*'}`;
}
