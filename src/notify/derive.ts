/**
 * Which notifications a reconcile causes — pure: the memory of what was last notified, plus what
 * this run saw, gives the events and the new memory. One event per state change, never one per
 * poll: a stack that stays drifted for a week notifies once, and once when it is resolved; a
 * failure that repeats is counted, and the count is told when it ends.
 */
import type { EventType } from './model.js';

export type Health = 'Healthy' | 'Progressing' | 'Degraded' | 'Missing' | 'Unknown';

export interface StackMemory {
  /** Last sync axis seen (desired vs live). */
  sync?: 'Synced' | 'OutOfSync' | 'Unknown';
  /** Last settled health seen (Healthy, Degraded or Missing). */
  health?: 'Healthy' | 'Degraded' | 'Missing';
  /** The revision whose failure was notified; later failures of it only count. */
  failedRevision?: string;
  /** Failed attempts since the last success (told with the next success). */
  failures?: number;
  /** Revision an approval-needed was sent for. */
  pending?: string;
  /** Revision a revision-refused was sent for. */
  refused?: string;
}

export interface NotifyMemory {
  stacks: Record<string, StackMemory>;
  source: { failures: number; notified: boolean; since?: string };
  /** The target revision a whole-repo refusal (signature) was notified for. */
  refused?: string;
}

export const EMPTY_MEMORY: NotifyMemory = { stacks: {}, source: { failures: 0, notified: false } };

export interface OutcomeView {
  stack: string;
  result: string;
  message: string;
  revision?: string;
  tag?: string;
}

export interface StackView {
  stack: string;
  sync: 'Synced' | 'OutOfSync' | 'Unknown';
  health: Health;
  /** The kinds of the findings that make it OutOfSync or unhealthy, for the message. */
  kinds: string[];
  revision?: string;
  tag?: string;
}

/**
 * One reconcile as notifications see it. A run that threw is `ok: false`: `source` (the repo did
 * not answer: counts towards source-unreachable), `refused` (the target revision failed its
 * signature check: revision-refused once per revision) or `other` (Docker, disk: no event here,
 * the memory is kept as it is).
 */
export type CycleView =
  | { ok: true; outcomes: OutcomeView[]; stacks: StackView[] }
  | { ok: false; error: string; kind?: 'source' | 'refused' | 'other'; revision?: string; tag?: string };

export interface DerivedEvent {
  event: EventType;
  stack?: string;
  revision?: string;
  tag?: string;
  message: string;
}

export interface DeriveOptions {
  now: string;
  /** source-unreachable after this many consecutive failed polls (default 3). */
  unreachableAfter?: number;
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
const at = (o: { revision?: string; tag?: string }): string => (o.tag ? `${o.tag} (${(o.revision ?? '').slice(0, 12)})` : (o.revision ?? '').slice(0, 12));

/** Outcomes that are events of their own: the stack's drift/health change in the same run is part of them. */
const SYNC_RESULTS = new Set(['deployed', 'failed', 'rolled-back', 'awaiting-approval', 'refused']);

function outcomeEvent(o: OutcomeView, m: StackMemory): { event?: DerivedEvent; memory: StackMemory } {
  const base = { stack: o.stack, ...(o.revision ? { revision: o.revision } : {}), ...(o.tag ? { tag: o.tag } : {}) };
  const failures = m.failures ?? 0;
  switch (o.result) {
    case 'deployed': {
      const after = failures > 0 ? ` (after ${plural(failures, 'failed attempt')})` : '';
      return { event: { ...base, event: 'sync-succeeded', message: `${o.stack} deployed ${at(o)}${after}: ${o.message}` }, memory: { ...m, failures: 0, failedRevision: undefined, pending: undefined, refused: undefined, sync: 'Synced' } };
    }
    case 'rolled-back':
    case 'failed': {
      const memory = { ...m, failures: failures + 1, failedRevision: o.revision ?? '' };
      if (m.failedRevision === (o.revision ?? '')) return { memory };
      const event: EventType = o.result === 'rolled-back' ? 'rolled-back' : 'sync-failed';
      return { event: { ...base, event, message: `${o.stack}: ${o.message}` }, memory };
    }
    case 'awaiting-approval':
      if (m.pending === o.revision) return { memory: m };
      return { event: { ...base, event: 'approval-needed', message: `${o.stack} waits for approval of ${at(o)}: ${o.message}` }, memory: { ...m, pending: o.revision } };
    case 'refused':
      if (m.refused === o.revision) return { memory: m };
      return { event: { ...base, event: 'revision-refused', message: `${o.stack} refused ${at(o)}: ${o.message}` }, memory: { ...m, refused: o.revision } };
    default:
      return { memory: m };
  }
}

function settled(h: Health): StackMemory['health'] {
  return h === 'Healthy' || h === 'Degraded' || h === 'Missing' ? h : undefined;
}

function stackEvents(v: StackView, m: StackMemory, quiet: boolean): { events: DerivedEvent[]; memory: StackMemory } {
  const events: DerivedEvent[] = [];
  const base = { stack: v.stack, ...(v.revision ? { revision: v.revision } : {}), ...(v.tag ? { tag: v.tag } : {}) };
  const why = v.kinds.length > 0 ? ` (${[...new Set(v.kinds)].sort().join(', ')})` : '';
  const memory: StackMemory = { ...m };
  if (v.sync !== 'Unknown') {
    if (!quiet && v.sync === 'OutOfSync' && m.sync !== 'OutOfSync') events.push({ ...base, event: 'drift-detected', message: `${v.stack} drifted from the repo${why}` });
    if (!quiet && v.sync === 'Synced' && m.sync === 'OutOfSync') events.push({ ...base, event: 'drift-resolved', message: `${v.stack} is in sync with the repo again` });
    memory.sync = v.sync;
  }
  const health = settled(v.health);
  if (health) {
    const bad = health !== 'Healthy';
    const wasBad = m.health !== undefined && m.health !== 'Healthy';
    if (!quiet && bad && !wasBad) events.push({ ...base, event: 'health-degraded', message: `${v.stack} is ${health}${why}` });
    if (!quiet && !bad && wasBad) events.push({ ...base, event: 'health-recovered', message: `${v.stack} is Healthy again` });
    memory.health = health;
  }
  return { events, memory };
}

/** A stack named `__proto__` is data, never the object's prototype. */
function put(into: Record<string, StackMemory>, stack: string, m: StackMemory): void {
  Object.defineProperty(into, stack, { value: m, enumerable: true, writable: true, configurable: true });
}

/** The events of one reconcile (or failed poll) and the memory to keep for the next. */
export function deriveEvents(memory: NotifyMemory, cycle: CycleView, opts: DeriveOptions): { events: DerivedEvent[]; memory: NotifyMemory } {
  const events: DerivedEvent[] = [];
  const after = opts.unreachableAfter ?? 3;
  if (!cycle.ok && cycle.kind === 'other') return { events, memory };
  if (!cycle.ok && cycle.kind === 'refused') {
    const revision = cycle.revision ?? cycle.error;
    if (memory.refused === revision) return { events, memory };
    const base = { ...(cycle.revision ? { revision: cycle.revision } : {}), ...(cycle.tag ? { tag: cycle.tag } : {}) };
    events.push({ ...base, event: 'revision-refused', message: `refused ${cycle.revision ? at({ ...base }) : 'the target revision'}: ${cycle.error}` });
    return { events, memory: { ...memory, refused: revision } };
  }
  if (!cycle.ok) {
    const source = { ...memory.source, failures: memory.source.failures + 1, since: memory.source.since ?? opts.now };
    if (!source.notified && source.failures >= after) {
      events.push({ event: 'source-unreachable', message: `${plural(source.failures, 'poll')} failed since ${source.since}: ${cycle.error}` });
      source.notified = true;
    }
    return { events, memory: { ...memory, source } };
  }
  if (memory.source.notified) events.push({ event: 'source-recovered', message: `the desired-state repo answers again, after ${plural(memory.source.failures, 'failed poll')} since ${memory.source.since ?? 'earlier'}` });
  const stacks: Record<string, StackMemory> = {};
  for (const [k, m] of Object.entries(memory.stacks)) put(stacks, k, m);
  const quiet = new Set<string>();
  for (const o of cycle.outcomes) {
    const r = outcomeEvent(o, Object.hasOwn(stacks, o.stack) ? (stacks[o.stack] as StackMemory) : {});
    put(stacks, o.stack, r.memory);
    if (r.event) events.push(r.event);
    if (SYNC_RESULTS.has(o.result)) quiet.add(o.stack);
  }
  for (const v of cycle.stacks) {
    const r = stackEvents(v, Object.hasOwn(stacks, v.stack) ? (stacks[v.stack] as StackMemory) : {}, quiet.has(v.stack));
    put(stacks, v.stack, r.memory);
    events.push(...r.events);
  }
  return { events, memory: { stacks, source: { failures: 0, notified: false } } };
}

/** A memory read back from the state DB (JSON written by an older or newer driftd, or damaged): what cannot be used is forgotten, never trusted. */
export function memoryFrom(value: unknown): NotifyMemory {
  if (typeof value !== 'object' || value === null) return EMPTY_MEMORY;
  const v = value as Partial<NotifyMemory>;
  const stacks: Record<string, StackMemory> = {};
  if (typeof v.stacks === 'object' && v.stacks !== null) {
    for (const [k, m] of Object.entries(v.stacks)) if (typeof m === 'object' && m !== null) put(stacks, k, m);
  }
  const src = typeof v.source === 'object' && v.source !== null ? v.source : undefined;
  const source = { failures: typeof src?.failures === 'number' ? src.failures : 0, notified: src?.notified === true, ...(typeof src?.since === 'string' ? { since: src.since } : {}) };
  return { stacks, source, ...(typeof v.refused === 'string' ? { refused: v.refused } : {}) };
}
