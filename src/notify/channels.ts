/**
 * From `notifications:` settings to channels ready to deliver to. The checks are the same for
 * `driftd validate` (findings) and `driftd agent` (refuses to start): a secret that is missing or
 * empty, a URL that is not http(s). No message ever quotes a URL or a key: they are secrets.
 */
import { DriftdError } from '../errors/index.js';
import { redactValue, registerSecrets } from '../util/scrub.js';
import type { Channel, ChannelSetting, ChannelType, EventType } from './model.js';

/** Chat services are read by people: at most one message per 10 s, the rest as a digest. */
const DEFAULT_MIN_INTERVAL_MS: Record<ChannelType, number> = { webhook: 0, slack: 10_000, discord: 10_000, teams: 10_000, ntfy: 10_000, gotify: 10_000, apprise: 10_000 };
export const DEFAULT_TIMEOUT_MS = 10_000;
/** A receiver gets at most this long per request, whatever the config says (a hung one must not hold the loop). */
const MAX_TIMEOUT_MS = 60_000;

export interface ChannelProblem {
  name: string;
  message: string;
}

function urlProblem(name: string, raw: string): string | undefined {
  if (/\s/.test(raw)) return `${name}.url contains whitespace or a line break`;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `${name}.url is not a valid URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${name}.url must be http:// or https:// (it is ${u.protocol.slice(0, 12)})`;
  return undefined;
}

/** Every problem of every channel (empty when all can deliver). */
export function channelProblems(settings: readonly ChannelSetting[]): ChannelProblem[] {
  const out: ChannelProblem[] = [];
  for (const s of settings) {
    if (s.url?.problem !== undefined) out.push({ name: s.name, message: s.url.problem });
    else if (s.url?.value === undefined) out.push({ name: s.name, message: `${s.name} has no url (set urlEnv or urlFile)` });
    else {
      const p = urlProblem(s.name, s.url.value);
      if (p) out.push({ name: s.name, message: p });
    }
    if (s.secret?.problem !== undefined) out.push({ name: s.name, message: s.secret.problem });
    if (s.secret && s.type !== 'webhook') out.push({ name: s.name, message: `${s.name}: secretEnv/secretFile are for type: webhook only` });
  }
  return out;
}

/** The parts of a URL that carry a token: the whole URL, its password, its path and query, each query value. */
function urlSecrets(raw: string): string[] {
  const u = new URL(raw);
  const parts = [raw, u.href, u.password, decodeURIComponent(u.password), u.pathname + u.search];
  for (const v of u.searchParams.values()) parts.push(v);
  // A path of a few letters (/notify) is no token; a long path segment (Slack's, Discord's) is.
  for (const seg of u.pathname.split('/')) if (seg.length >= 16) parts.push(seg);
  return parts.filter((p) => p.length >= 6 && p !== '/');
}

/**
 * Channels to deliver to; throws ConfigError (one sentence, no secret) on the first problem.
 * Registers every URL and key with the one secret scrubber before anything can print them.
 */
export function resolveChannels(settings: readonly ChannelSetting[]): Channel[] {
  const problem = channelProblems(settings)[0];
  if (problem) throw new DriftdError('ConfigError', `the agent cannot start: ${problem.message}`, { key: problem.name });
  const seen = new Map<string, number>();
  return settings.map((s) => {
    const url = s.url?.value as string;
    registerSecrets([...urlSecrets(url), s.secret?.value]);
    // Named by its type and a hash of its URL: stable across restarts and reordering, never the URL itself.
    const base = `${s.type}:${redactValue(url)}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return {
      key: n === 1 ? base : `${base}#${n}`,
      name: s.name,
      type: s.type,
      url,
      ...(s.secret?.value !== undefined ? { secret: s.secret.value } : {}),
      ...(s.events ? { events: new Set(s.events) } : {}),
      ...(s.stacks ? { stacks: new Set(s.stacks) } : {}),
      minIntervalMs: s.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS[s.type],
      timeoutMs: Math.min(MAX_TIMEOUT_MS, Math.max(100, s.timeoutMs ?? DEFAULT_TIMEOUT_MS)),
    };
  });
}

/** Whether a channel takes an event: its `events` and `stacks` filters (an event of no stack passes a stack filter). */
export function wants(channel: Pick<Channel, 'events' | 'stacks'>, event: { event: EventType; stack?: string }): boolean {
  if (channel.events && !channel.events.has(event.event)) return false;
  if (channel.stacks && event.stack !== undefined && !channel.stacks.has(event.stack)) return false;
  return true;
}
