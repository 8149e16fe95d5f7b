/**
 * Argo CD-style badges: every status has a colour class AND a glyph AND its word, so the page
 * reads the same without colour (colour-blind readers, a black-and-white print).
 */
import type { HealthStatus, Severity, SyncStatus } from '../drift/model.js';
import { html, type Html } from './html.js';

export type Tone = 'ok' | 'warn' | 'bad' | 'busy' | 'none';

export interface Badge {
  tone: Tone;
  glyph: string;
  text: string;
}

const SYNC: Record<SyncStatus, Omit<Badge, 'text'>> = {
  Synced: { tone: 'ok', glyph: '✔' },
  OutOfSync: { tone: 'warn', glyph: '↻' },
  Unknown: { tone: 'none', glyph: '?' },
};

const HEALTH: Record<HealthStatus, Omit<Badge, 'text'>> = {
  Healthy: { tone: 'ok', glyph: '♥' },
  Progressing: { tone: 'busy', glyph: '◔' },
  Degraded: { tone: 'bad', glyph: '✖' },
  Missing: { tone: 'warn', glyph: '∅' },
  Unknown: { tone: 'none', glyph: '?' },
};

const SEVERITY: Record<Severity, Omit<Badge, 'text'>> = {
  error: { tone: 'bad', glyph: '✖' },
  warning: { tone: 'warn', glyph: '⚠' },
  info: { tone: 'busy', glyph: 'ℹ' },
};

const RESULT: Record<string, Omit<Badge, 'text'>> = {
  succeeded: { tone: 'ok', glyph: '✔' },
  failed: { tone: 'bad', glyph: '✖' },
  refused: { tone: 'bad', glyph: '⛔' },
  running: { tone: 'busy', glyph: '◔' },
  skipped: { tone: 'none', glyph: '–' },
  abandoned: { tone: 'warn', glyph: '⚠' },
};

const UNKNOWN: Omit<Badge, 'text'> = { tone: 'none', glyph: '?' };

/** Own-property lookups only: a status read from outside ("__proto__", "constructor") is just unknown. */
function pick<K extends string>(table: Record<K, Omit<Badge, 'text'>>, key: string): Badge {
  const found = Object.hasOwn(table, key) ? table[key as K] : UNKNOWN;
  return { ...found, text: key };
}

export const syncBadge = (s: string): Badge => pick(SYNC, s);
export const healthBadge = (s: string): Badge => pick(HEALTH, s);
export const severityBadge = (s: string): Badge => pick(SEVERITY, s);
export const resultBadge = (s: string): Badge => pick(RESULT, s);

/** `label` (e.g. "sync") is read by screen readers before the word; the glyph is decoration. */
export function badge(b: Badge, label?: string): Html {
  return html`<span class="badge tone-${b.tone}"${label ? html` title="${label}: ${b.text}"` : ''}><span aria-hidden="true">${b.glyph}</span> ${label ? html`<span class="sr-only">${label}: </span>` : ''}${b.text}</span>`;
}
