/**
 * `driftd fleet status --hub URL` (docs/hub.md): asks a hub for `/api/fleet` with the read token
 * (`DRIFTD_HUB_TOKEN`). Exit 0: every host synced, none silent, none straggling; 2: not so;
 * 1 (a thrown DriftdError): the hub could not be asked.
 */
import { z } from 'zod';
import { requestText, type RequestAnswer } from '../util/http-request.js';
import { DriftdError } from '../errors/index.js';
import { fleetExitCode } from './fleet.js';
import { reportStackSchema } from './report.js';

/** The part of `/api/fleet` this command reads; the rest of the document passes through to --json. */
const fleetAnswer = z
  .object({
    schemaVersion: z.literal(1),
    generatedAt: z.string(),
    summary: z.object({ hosts: z.number(), synced: z.number(), outOfSync: z.number(), silent: z.number(), stragglers: z.number() }),
    newest: z.object({ commit: z.string(), ref: z.string().optional(), hosts: z.number(), synced: z.number(), rolledBack: z.number(), pending: z.number() }).optional(),
    hosts: z.array(
      z.object({
        host: z.string(),
        state: z.enum(['synced', 'out-of-sync', 'silent']),
        straggler: z.boolean(),
        lastSeen: z.string().optional(),
        target: z.object({ commit: z.string(), ref: z.string().optional() }).optional(),
        targetError: z.string().optional(),
        stacks: z.array(reportStackSchema),
      }),
    ),
  })
  .passthrough();
export type FleetAnswer = z.infer<typeof fleetAnswer>;

export interface FleetStatusResult {
  fleet: FleetAnswer;
  exitCode: 0 | 2;
}

/** `ca`: PEM trusted for an https hub besides the system's CAs (`--ca-file`). */
export async function fleetStatus(opts: { hub: string; token: string | undefined; timeoutMs?: number; ca?: string }): Promise<FleetStatusResult> {
  if (!/^https?:\/\/[^\s]+$/i.test(opts.hub)) throw new DriftdError('UsageError', `--hub must be an http:// or https:// URL, got "${opts.hub}"`);
  if (!opts.token) throw new DriftdError('UsageError', 'set DRIFTD_HUB_TOKEN to the hub read token');
  const url = `${opts.hub.replace(/\/+$/, '')}/api/fleet`;
  let res: RequestAnswer;
  try {
    res = await requestText(url, { headers: { authorization: `Bearer ${opts.token}`, accept: 'application/json' }, signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000), ...(opts.ca !== undefined ? { ca: opts.ca } : {}) });
  } catch (e) {
    throw new DriftdError('ConfigError', `the hub at ${opts.hub} did not answer: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`, { hub: opts.hub });
  }
  if (res.status === 401 || res.status === 403) throw new DriftdError('ConfigError', `the hub refused the read token (HTTP ${res.status}): check DRIFTD_HUB_TOKEN`, { hub: opts.hub });
  if (res.status < 200 || res.status > 299) throw new DriftdError('ConfigError', `the hub answered HTTP ${res.status} for /api/fleet`, { hub: opts.hub });
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    throw new DriftdError('ConfigError', 'the hub answered something that is not JSON for /api/fleet', { hub: opts.hub });
  }
  const parsed = fleetAnswer.safeParse(body);
  if (!parsed.success) throw new DriftdError('ConfigError', `the hub's /api/fleet answer does not have the documented shape (${parsed.error.issues[0]?.message ?? 'invalid'})`, { hub: opts.hub });
  return { fleet: parsed.data, exitCode: fleetExitCode(parsed.data) };
}
