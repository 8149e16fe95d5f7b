/**
 * `driftd hub`'s HTTP server (docs/hub.md): `POST /api/report` for agents (each with its own
 * host token), `GET /api/fleet` and the fleet page for readers (the read token: Bearer or the
 * login cookie, the status page's own session code), `GET /healthz`. Reports are outside input:
 * the token is checked from the headers before any body is read, the body is capped, parsed,
 * validated by the report schema, must name the token's own host, is rate-limited per host and
 * scrubbed before it is stored.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { z } from 'zod';
import { describeError, DriftdError } from '../errors/index.js';
import { createSessions } from '../page/session.js';
import { decodeSegment, reply, webHandler, type PageLogger, type Routes } from '../page/web.js';
import { bearerToken, secretEquals } from '../util/bearer.js';
import { BodyTooLarge, readBody } from '../util/read-body.js';
import { scrubValue } from '../util/scrub.js';
import { buildFleet, filterFleet, STATUS_FILTERS, type FleetFilter, type FleetView } from './fleet.js';
import { REPORT_MAX_BYTES, reportProblem, reportSchema } from './report.js';
import type { HubStore } from './store.js';
import type { AgentTokens } from './tokens.js';
import { fleetPage, hostPage } from './views.js';

export interface HubLimits {
  maxBodyBytes: number;
  /** Report bodies read at once (a flood waits at 503, the hub's memory does not grow). */
  maxBodiesInFlight: number;
  /** Per host: a burst of this many reports, refilled at `reportsPerSecond`. */
  reportBurst: number;
  reportsPerSecond: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  maxConnections: number;
}

export const HUB_LIMITS: HubLimits = {
  maxBodyBytes: REPORT_MAX_BYTES,
  maxBodiesInFlight: 32,
  reportBurst: 10,
  reportsPerSecond: 0.5,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 2048,
};

export interface HubDeps {
  store: HubStore;
  tokens: AgentTokens;
  /** Undefined: the fleet page and /api/fleet are closed (403). */
  readToken?: string;
  silentAfterMs: number;
  stragglerGraceMs: number;
  logger?: PageLogger;
  now?: () => number;
  limits?: HubLimits;
}

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store', ...(code === 401 ? { 'www-authenticate': 'Bearer realm="driftd hub"' } : {}), ...headers });
  res.end(`${JSON.stringify(scrubValue(body))}\n`);
}

export const fleetFilterSchema = z.object({
  host: z.string().max(253).optional().catch(undefined),
  stack: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/).optional().catch(undefined),
  status: z.enum(STATUS_FILTERS).catch('all').default('all'),
  offset: z.coerce.number().int().min(0).max(1_000_000).catch(0).default(0),
  limit: z.coerce.number().int().min(1).max(2000).catch(200).default(200),
});

/** Query → filter; a malformed value is simply no filter (a page never errors on its query). */
export function parseFleetFilter(params: URLSearchParams): FleetFilter {
  const raw: Record<string, string> = {};
  for (const k of ['host', 'stack', 'status', 'offset', 'limit']) {
    const v = params.get(k);
    if (v !== null && v !== '') raw[k] = v;
  }
  const f = fleetFilterSchema.parse(raw);
  return { status: f.status, offset: f.offset, limit: f.limit, ...(f.host ? { host: f.host } : {}), ...(f.stack ? { stack: f.stack } : {}) };
}

/** A token bucket per host: a host that floods gets 429 and keeps its latest accepted status. */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
  ) {}
  take(key: string, now: number): boolean {
    const b = this.#buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.#buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

export function hubHandler(deps: HubDeps): RequestListener {
  const now = deps.now ?? (() => Date.now());
  const limits = deps.limits ?? HUB_LIMITS;
  const limiter = new RateLimiter(limits.reportBurst, limits.reportsPerSecond);
  const { readToken } = deps;
  const readMatches = (given: string): boolean => readToken !== undefined && secretEquals(given, readToken);
  let inFlight = 0;

  const fleet = (): FleetView =>
    buildFleet({ now: now(), records: deps.store.latest(), knownHosts: deps.tokens.hosts, firstSeen: deps.store.firstSeen(), silentAfterMs: deps.silentAfterMs, stragglerGraceMs: deps.stragglerGraceMs });

  const routes: Routes = async (req, res, path, params, web) => {
    if (req.method === 'GET' && path === '/') {
      await web.guarded(req, res, (ctx) => {
        const f = parseFleetFilter(params);
        const v = fleet();
        reply(res, 200, fleetPage(v, filterFleet(v, f), f, ctx));
        return Promise.resolve();
      });
      return true;
    }
    const hostMatch = /^\/hosts\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && hostMatch?.[1] !== undefined) {
      const name = decodeSegment(hostMatch[1]);
      await web.guarded(req, res, (ctx) => {
        const v = fleet();
        const h = v.hosts.find((x) => x.host === name);
        if (!h || name === undefined) return Promise.resolve(web.fail(res, 404, 'No such host in the fleet.'));
        reply(res, 200, hostPage(h, deps.store.history(name, 20), v.generatedAt, ctx));
        return Promise.resolve();
      });
      return true;
    }
    return false;
  };

  const page = webHandler(
    {
      ...(readToken !== undefined ? { sessions: createSessions(readToken) } : {}),
      readMatches,
      bearer: bearerToken,
      secrets: [...(readToken !== undefined ? [readToken] : []), ...deps.tokens.values],
      ...(deps.logger ? { logger: deps.logger } : {}),
      readTokenSetting: 'hubServer.readTokenEnv or hubServer.readTokenFile',
      where: 'this hub',
    },
    (path) => path === '/' || path.startsWith('/hosts/'),
    routes,
  );

  const report = (req: IncomingMessage, res: ServerResponse): void => {
    const token = bearerToken(req.headers);
    if (token === undefined) return send(res, 401, { error: 'a host token is required: Authorization: Bearer <token>' }, { connection: 'close' });
    const host = deps.tokens.hostOf(token);
    if (host === undefined) {
      deps.logger?.warn?.({ remote: req.socket.remoteAddress }, 'hub: a report with an unknown token was refused');
      return send(res, 401, { error: 'this token is not an agent token of this hub' }, { connection: 'close' });
    }
    if (Number(req.headers['content-length'] ?? 0) > limits.maxBodyBytes) return send(res, 413, { error: `a report is at most ${limits.maxBodyBytes} bytes` }, { connection: 'close' });
    if (!limiter.take(host, now())) return send(res, 429, { error: 'too many reports from this host; retry later' }, { connection: 'close', 'retry-after': String(Math.ceil(1 / limits.reportsPerSecond)) });
    if (inFlight >= limits.maxBodiesInFlight) return send(res, 503, { error: 'too many reports in flight; retry' }, { connection: 'close', 'retry-after': '1' });
    inFlight += 1;
    readBody(req, limits.maxBodyBytes)
      .then(
        (body) => {
          let json: unknown;
          try {
            json = JSON.parse(body.toString('utf8'));
          } catch {
            return send(res, 400, { error: 'the report is not JSON' });
          }
          const parsed = reportSchema.safeParse(json);
          if (!parsed.success) return send(res, 400, { error: `invalid report: ${reportProblem(parsed.error)}` });
          if (parsed.data.host !== host) {
            deps.logger?.warn?.({ host, claimed: parsed.data.host }, "hub: a host token tried to write another host's status; refused");
            return send(res, 403, { error: `this token may only report for host ${host}` });
          }
          deps.store.record(host, scrubValue(parsed.data), new Date(now()).toISOString());
          return send(res, 202, { accepted: true });
        },
        (e: unknown) => (e instanceof BodyTooLarge ? send(res, 413, { error: `a report is at most ${limits.maxBodyBytes} bytes` }, { connection: 'close' }) : req.destroy()),
      )
      .catch((e: unknown) => {
        deps.logger?.error({ err: describeError(e) }, `hub: storing a report failed: ${describeError(e)}`);
        if (!res.headersSent) send(res, 500, { error: 'the report could not be stored; retry' });
      })
      .finally(() => (inFlight -= 1));
    return undefined;
  };

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return send(res, 200, { ok: true });
    if (req.method === 'POST' && path === '/api/report') return report(req, res);
    if (req.method === 'GET' && path === '/api/fleet') {
      if (readToken === undefined) return send(res, 403, { error: 'the fleet is closed: no read token is configured (hubServer.readTokenEnv or hubServer.readTokenFile)' });
      const given = bearerToken(req.headers);
      if (given === undefined || !readMatches(given)) return send(res, 401, { error: 'the read token is required: Authorization: Bearer <token>' });
      const v = fleet();
      // The same filters as the page; without `limit`, every matching host (a script wants the whole fleet).
      const q = new URL(req.url ?? '/', 'http://hub.invalid').searchParams;
      const f = parseFleetFilter(q);
      const rows = filterFleet(v, q.has('limit') ? f : { ...f, limit: Number.MAX_SAFE_INTEGER });
      return send(res, 200, { schemaVersion: 1, ...v, hosts: rows.hosts, matched: rows.matched });
    }
    if (page(req, res)) return undefined;
    return send(res, 404, { error: 'not found: POST /api/report, GET /api/fleet, GET / (the fleet page), GET /healthz' }, req.method !== 'GET' ? { connection: 'close' } : {});
  };
}

/** `tls`: PEM certificate (chain) and key, read by the caller; absent: plain http. */
export function startHubServer(deps: HubDeps, listen: { host: string; port: number }, tls?: { cert: Buffer; key: Buffer }): Promise<Server> {
  const limits = deps.limits ?? HUB_LIMITS;
  const handler = hubHandler(deps);
  const options = { headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, maxHeaderSize: 16 * 1024 };
  const listener: RequestListener = (req, res) => {
    try {
      handler(req, res);
    } catch (e) {
      deps.logger?.error({ err: describeError(e) }, `hub: ${req.method ?? '?'} ${req.url ?? '?'} failed: ${describeError(e)}`);
      if (res.headersSent) res.destroy();
      else send(res, 500, { error: describeError(e) });
    }
  };
  let server: Server;
  try {
    server = tls ? createTlsServer({ ...options, cert: tls.cert, key: tls.key }, listener) : createServer(options, listener);
  } catch (e) {
    // A certificate and key that do not match, or a file that is not PEM.
    return Promise.reject(new DriftdError('ConfigError', `the hub cannot start: hubServer.tls: ${(e as Error).message}`, { key: 'hubServer.tls' }));
  }
  server.maxConnections = limits.maxConnections;
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new DriftdError('ConfigError', `the hub cannot listen on ${listen.host}:${listen.port}: ${e.message}`, { key: 'hubServer.listen' })));
    server.listen(listen.port, listen.host, () => resolve(server));
  });
}
