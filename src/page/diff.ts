/**
 * Unified diffs for people: a finding's own diff (revision-behind), or one made from a
 * config-drift's desired and live values, rendered line by line with classes for added,
 * removed, hunk and file lines and a light YAML/JSON key highlight inside each line.
 * Everything passes through `html`, so a diff line is text, never markup.
 */
import { createTwoFilesPatch } from 'diff';
import type { Finding } from '../drift/model.js';
import { html, type Html } from './html.js';

/** Values as YAML-ish lines: strings as they are, everything else as indented JSON. */
function valueText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return `${v}\n`;
  return `${JSON.stringify(v, null, 2)}\n`;
}

/** The finding's diff, or `desired` → `live` as a unified diff when it carries values instead. */
export function findingDiff(f: Finding): string | undefined {
  if (f.diff !== undefined && f.diff !== '') return f.diff;
  if (!('desired' in f) && !('live' in f)) return undefined;
  const field = f.field ?? 'value';
  return createTwoFilesPatch(`repo/${field}`, `live/${field}`, valueText(f.desired), valueText(f.live), undefined, undefined, { context: 3 });
}

const LINE_CLASS: [RegExp, string][] = [
  [/^(\+\+\+|---) /, 'd-file'],
  [/^@@/, 'd-hunk'],
  [/^\+/, 'd-add'],
  [/^-/, 'd-del'],
  [/^(Index:|={5,}|diff |Binary file|\\ No newline)/, 'd-meta'],
];

function lineClass(line: string): string {
  return LINE_CLASS.find(([re]) => re.test(line))?.[1] ?? 'd-ctx';
}

/** `  key: value` / `  "key": value`: the key gets its own span (the "syntax highlight"). */
const KEY = /^([+\- ]?\s*(?:- )?)("[^"]*"|[A-Za-z0-9_.\-/]+)(\s*:)(.*)$/;

function highlight(line: string, cls: string): Html {
  if (cls === 'd-file' || cls === 'd-hunk' || cls === 'd-meta') return html`${line}`;
  const m = KEY.exec(line);
  if (!m) return html`${line}`;
  return html`${m[1]}<span class="d-key">${m[2]}</span>${m[3]}${m[4]}`;
}

/** A `<pre>` of classed lines; `label` names it for screen readers. */
export function renderDiff(diff: string, label: string): Html {
  const lines = diff.replace(/\n$/, '').split('\n');
  return html`<pre class="diff" aria-label="${label}" tabindex="0"><code>${lines.map((line) => {
    const cls = lineClass(line);
    return html`<span class="${cls}">${highlight(line, cls)}</span>\n`;
  })}</code></pre>`;
}
