/**
 * A fleet's load on one Git server: `agents` simulated pollers in this process, each with its own
 * data dir and driftd's real Git source (its refs request and fetch code path, src/source), poll
 * one repo (200 stacks, 500 tags) on the loopback git http-backend on driftd's default schedule —
 * hourly, plus the default jitter (src/agent/coalescer.ts jitterDelay) — with one hour compressed
 * to `hourSeconds`. Four compressed hours: with jitter and without, each with no new tag and right
 * after a new tag. Requests, bytes and arrival times are counted at the server.
 */
import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { jitterDelay } from '../src/agent/coalescer.js';
import type { RefPolicy } from '../src/config/resolve.js';
import { resolveConfig } from '../src/config/resolve.js';
import { createGitSource, type GitSource } from '../src/source/index.js';
import { GitServer } from '../test/support/git-server.js';
import type { FleetOptions } from './args.js';
import { fastImport, historyStream, pushNewTag } from './git-history.js';

const POLICY: RefPolicy = { kind: 'semver', range: '>=1.0.0', prefix: 'v' };
const HOUR_MS = 3_600_000;

export interface FleetHour {
  jitter: boolean;
  newTag: boolean;
  /** Server-side counts by kind ("info/refs", "git-upload-pack fetch"…). */
  byKind: Record<string, number>;
  requestBytes: number;
  responseBytes: number;
  /** Agents whose poll fetched (a fetch request reached the server for it). */
  fetches: number;
  errors: number;
  /** Most requests arriving within one real-time second (bins of hourSeconds/3600 s). */
  peakPerSecond: number;
  /** The same from the schedule alone (what the fleet offers, before any queueing). */
  scheduledPeakPerSecond: number;
  /** Fetch arrivals at the server per tenth of the jitter window (real time), and after it. */
  fetchHistogram: number[];
  fetchesAfterWindow: number;
  /**
   * The same for the fetches the fleet offers: each fetching agent's poll time, from its own jittered
   * schedule. The loopback server shares this 2-core machine with every simulated agent and cannot
   * serve a thousand fetches inside a compressed jitter window, so arrivals measure that server's
   * queue; what driftd controls is when its agents ask.
   */
  offeredFetchHistogram: number[];
  offeredFetchesAfterWindow: number;
  /** Median and worst time (real time) from an agent's scheduled poll to its fetch's arrival at the server. */
  fetchLagMs: { median: number; max: number } | null;
  /** Failed polls by error message (first line, at most 120 characters). */
  errorKinds: Record<string, number>;
  /** How long (compressed ms) until every agent's poll had finished. */
  drainMs: number;
}

export interface FleetResult {
  options: FleetOptions;
  /** driftd's default jitter (real ms). */
  jitterMs: number;
  buildMs: number;
  hours: FleetHour[];
}

function histogram(offsetsMs: readonly number[], windowMs: number): { bins: number[]; after: number } {
  const bins = Array.from({ length: 10 }, (_, b) => offsetsMs.filter((t) => t >= (b * windowMs) / 10 && t < ((b + 1) * windowMs) / 10).length);
  return { bins, after: offsetsMs.filter((t) => t >= windowMs).length };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function peak(offsetsMs: readonly number[], binMs: number): number {
  const bins = new Map<number, number>();
  for (const t of offsetsMs) bins.set(Math.floor(t / binMs), (bins.get(Math.floor(t / binMs)) ?? 0) + 1);
  return Math.max(0, ...bins.values());
}

const kindOf = (r: { service: string; command?: string }): string => (r.command ? `${r.service} ${r.command}` : r.service);

export async function benchFleet(opts: FleetOptions, workDir: string, log: (l: string) => void): Promise<FleetResult> {
  const scale = (opts.hourSeconds * 1000) / HOUR_MS;
  const server = await GitServer.start({ maxBackends: 8 });
  try {
    const repo = await server.createRepo('fleet.git');
    const shape = { commits: opts.tags * 2, tags: opts.tags, stacks: opts.stacks };
    const built = Date.now();
    await fastImport(repo.path, historyStream(shape));
    const buildMs = Date.now() - built;
    const root = path.join(workDir, 'fleet');
    const jitterMs = resolveConfig({ flags: { repo: repo.url, dataDir: root }, env: {} }).jitterMs;
    // One real first poll, then its mirror copied to every agent: a thousand initial clones are not the point.
    const seed = path.join(root, 'seed');
    const seeded = await createGitSource({ repo: repo.url, dataDir: seed, timeoutMs: 600_000 }).resolve(POLICY);
    const sources: GitSource[] = Array.from({ length: opts.agents }, (_, i) => {
      const dataDir = path.join(root, `agent-${i}`);
      mkdirSync(dataDir, { recursive: true });
      cpSync(path.join(seed, 'git'), path.join(dataDir, 'git'), { recursive: true });
      return createGitSource({ repo: repo.url, dataDir, timeoutMs: 600_000 });
    });
    log(`fleet: ${opts.agents} agents ready (repo of ${opts.stacks} stacks, ${opts.tags} tags; one hour = ${opts.hourSeconds} s, jitter ${jitterMs / 1000} s)`);
    const hours: FleetHour[] = [];
    // Each agent's last resolved commit: the seed's, copied with its mirror.
    const commits: string[] = sources.map(() => seeded.commit);
    let tags = 0;
    for (const jitter of [true, false]) {
      for (const newTag of [false, true]) {
        if (newTag) await pushNewTag(repo, shape, ++tags);
        server.resetStats();
        const t0 = performance.now();
        const delays = sources.map(() => (jitter ? jitterDelay(jitterMs) : 0) * scale);
        let errors = 0;
        const errorKinds: Record<string, number> = Object.create(null) as Record<string, number>;
        const fetchedAt: number[] = [];
        // Each agent's timer fires at its jittered offset into the hour, then it polls.
        await Promise.all(
          sources.map(async (source, i) => {
            await new Promise((r) => setTimeout(r, delays[i]));
            try {
              const { commit } = await source.resolve(POLICY);
              // A new commit means this poll fetched (the mirror had only the previous target).
              if (commits[i] !== commit) fetchedAt.push(delays[i]! / scale);
              commits[i] = commit;
            } catch (err) {
              errors += 1;
              const kind = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 120);
              errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
            }
          }),
        );
        const drainMs = performance.now() - t0;
        const reqs = server.requests.map((r) => ({ ...r, at: r.receivedMs - t0 }));
        const byKind: Record<string, number> = {};
        for (const r of reqs) byKind[kindOf(r)] = (byKind[kindOf(r)] ?? 0) + 1;
        const fetchAt = reqs.filter((r) => r.command === 'fetch').map((r) => r.at / scale);
        const windowMs = Math.max(jitterMs, 1);
        const arrived = histogram(fetchAt, windowMs);
        const offered = histogram(fetchedAt, windowMs);
        // Arrival order and schedule order differ, so lags pair sorted lists: a summary, not per agent.
        const sortedArrivals = [...fetchAt].sort((a, b) => a - b);
        const lags = [...fetchedAt].sort((a, b) => a - b).slice(0, sortedArrivals.length).map((t, k) => sortedArrivals[k]! - t);
        hours.push({
          jitter,
          newTag,
          byKind,
          requestBytes: reqs.reduce((a, r) => a + r.requestBytes, 0),
          responseBytes: reqs.reduce((a, r) => a + r.responseBytes, 0),
          fetches: fetchAt.length,
          errors,
          peakPerSecond: peak(reqs.map((r) => r.at), 1000 * scale),
          scheduledPeakPerSecond: peak(delays, 1000 * scale),
          fetchHistogram: arrived.bins,
          fetchesAfterWindow: arrived.after,
          offeredFetchHistogram: offered.bins,
          offeredFetchesAfterWindow: offered.after,
          fetchLagMs: lags.length ? { median: median(lags), max: Math.max(...lags) } : null,
          errorKinds,
          drainMs,
        });
        log(`fleet: hour ${jitter ? 'with' : 'without'} jitter, ${newTag ? 'new tag' : 'no new tag'}: ${reqs.length} requests, ${fetchAt.length} fetches, drained in ${(drainMs / 1000).toFixed(1)} s`);
      }
    }
    return { options: opts, jitterMs, buildMs, hours };
  } finally {
    await server.close();
  }
}
