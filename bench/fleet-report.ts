/** The fleet simulation's section of the report, its targets, and the comparison with Argo CD's polling. */
import type { FleetResult } from './fleet-git.js';
import { refsRequests } from './format.js';
import { fmtBytes, table } from './report-tables.js';
import type { TargetResult } from './targets.js';

const lagText = (h: FleetResult['hours'][number]): string =>
  h.fetchLagMs ? `server lag ${(h.fetchLagMs.median / 1000).toFixed(0)} s median, ${(h.fetchLagMs.max / 1000).toFixed(0)} s worst, real time` : 'no fetch';

const errorText = (h: FleetResult['hours'][number]): string =>
  h.errors === 0 ? '0' : `${h.errors}: ${Object.entries(h.errorKinds).map(([m, n]) => `${n}× ${m}`).join('; ')}`;

const perAgent = (n: number, agents: number): string => (n / agents).toFixed(2);

/** The fetches the agents of this hour asked for: polls that resolved a commit the agent did not have. */
const offeredTotal = (h: FleetResult['hours'][number]): number => h.offeredFetchHistogram.reduce((x, y) => x + y, h.offeredFetchesAfterWindow);

export function fleetTargets(f: FleetResult | null): TargetResult[] {
  const none = (target: string): TargetResult => ({ target, measured: 'fleet simulation skipped', status: 'not measured' });
  const t1 = 'fleet: ≤ 1 refs request per agent per interval (every hour, also right after a new tag)';
  const t2 = 'fleet: no fetch without a new target';
  const t3 = 'fleet: the post-tag fetch burst spread over the jitter window (no tenth of it holds more than a quarter of the fetches)';
  if (!f) return [none(t1), none(t2), none(t3)];
  const a = f.options.agents;
  const quiet = f.hours.filter((h) => !h.newTag);
  const refs = Math.max(...f.hours.map((h) => refsRequests(h.byKind)));
  // A fetch is for a new target when the agent that made it resolved a commit it did not have:
  // right after a tag, or in a later hour for an agent whose poll in the tag's hour failed (a
  // timeout at a loaded server) and which still had the old target. Judged per agent, not per hour.
  const needless = f.hours.reduce((n, h) => n + Math.max(0, h.fetches - offeredTotal(h)), 0);
  const catchUp = quiet.reduce((n, h) => n + Math.min(h.fetches, offeredTotal(h)), 0);
  const burst = f.hours.find((h) => h.jitter && h.newTag);
  // Judged on when the agents ask (their jittered schedule); where the loopback server's queue put
  // the arrivals is shown beside it. Every fetch the agents offered must also have reached the server.
  const offered = burst ? offeredTotal(burst) : 0;
  const spread = burst ? offered > 0 && offered === burst.fetches && Math.max(...burst.offeredFetchHistogram) <= offered / 4 && burst.offeredFetchesAfterWindow === 0 : false;
  return [
    { target: t1, measured: `${perAgent(refs, a)} refs requests (info/refs + ls-refs) per agent`, status: refs <= a ? 'met' : 'missed' },
    {
      target: t2,
      measured:
        `${needless} fetches without a target new to the agent that made them` +
        (catchUp > 0 ? `; the ${catchUp} fetches of the hours with no new tag were agents whose poll in the tag's hour had failed, fetching the tag still new to them` : ''),
      status: needless === 0 ? 'met' : 'missed',
    },
    {
      target: t3,
      measured: burst
        ? `asked per tenth: ${burst.offeredFetchHistogram.join(' / ')} (after the window: ${burst.offeredFetchesAfterWindow}); ${burst.fetches} fetches reached the server, ${burst.fetchesAfterWindow} of them after the compressed window (${lagText(burst)})`
        : 'not run',
      status: burst ? (spread ? 'met' : 'missed') : 'not measured',
    },
  ];
}

export function fleetSection(f: FleetResult | null): string {
  if (!f) return '## 6. A fleet on one Git server\n\nSkipped (--skip-fleet).';
  const a = f.options.agents;
  const scale = 3600 / f.options.hourSeconds;
  const rows = f.hours.map((h) => {
    const total = Object.values(h.byKind).reduce((x, y) => x + y, 0);
    return [
      `${h.jitter ? 'jitter' : 'no jitter'}, ${h.newTag ? 'right after a new tag' : 'no new tag'}`,
      Object.entries(h.byKind).map(([k, n]) => `${n}× ${k}`).join(', ') || 'none',
      perAgent(total, a),
      String(h.fetches),
      `${(total / 3600).toFixed(2)} req/s, ${fmtBytes(h.responseBytes / 3600)}/s`,
      `${fmtBytes(h.responseBytes)} out, ${fmtBytes(h.requestBytes)} in`,
      `${h.scheduledPeakPerSecond} scheduled / ${h.peakPerSecond} arrived`,
      h.newTag ? `asked: ${h.offeredFetchHistogram.join(' / ')} (after: ${h.offeredFetchesAfterWindow})<br>arrived: ${h.fetchHistogram.join(' / ')} (after: ${h.fetchesAfterWindow}; ${lagText(h)})` : '–',
      `${((h.drainMs * scale) / 60_000).toFixed(1)} min`,
      errorText(h),
    ];
  });
  const quiet = f.hours.find((h) => h.jitter && !h.newTag);
  const perHour = quiet ? Object.values(quiet.byKind).reduce((x, y) => x + y, 0) : Number.NaN;
  return [
    '## 6. A fleet on one Git server',
    `${a} simulated agents in one process, each with its own data dir and driftd's Git source (the refs request and fetch code of src/source), poll one repo of ${f.options.stacks} stacks and ${f.options.tags} tags on the loopback git http-backend (at most 8 backend processes at once) on driftd's default schedule: hourly, plus a uniform jitter of up to ${f.jitterMs / 60_000} min; one hour lasts ${f.options.hourSeconds} s. Requests, bytes and arrival times are counted at the server and given in real time (÷ ${scale}). The agents and the server share one process on this machine: "arrived" peaks and drain times show how far it lagged behind the schedule. After a new tag, "asked" counts each fetching agent at its scheduled poll (what driftd controls: when a fleet asks) and "arrived" at the server; the loopback \`git http-backend\`, sharing 2 cores with every simulated agent, cannot serve a thousand fetches inside a jitter window compressed to ${(f.jitterMs / scale / 1000).toFixed(0)} s (the last column but one shows how long it took), so the spread target is judged on when the agents ask.`,
    table(
      ['hour', 'requests at the server', 'requests per agent', 'fetches', 'average over the hour', 'bytes', 'peak requests in one second', `fetches per tenth of the jitter window (${f.jitterMs / 600_000} min each)`, 'until every poll finished', 'errors'],
      rows,
    ),
    `For comparison, Argo CD polling 20 apps sent ~2,000 \`ls-remote\` an hour to one Git server, ~60,000 requests a day (argo-cd#1363, #4925): ~100 requests per app per hour. A driftd fleet of ${a} hosts, each with any number of stacks in its repo, sends ${Number.isFinite(perHour) ? `${perHour} requests an hour (${perAgent(perHour, a)} per host), ${perHour * 24} a day` : 'one refs request per host an hour'} when nothing changes, and the jitter spreads them over the first ${f.jitterMs / 60_000} minutes of the hour instead of one burst.`,
  ].join('\n\n');
}
