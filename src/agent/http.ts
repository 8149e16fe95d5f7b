import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { describeError, DriftdError } from '../errors/index.js';
import type { Logger } from '../util/logger.js';
import { readGuard, signatureMatches, webhookDecision, type Denial } from './http-auth.js';
import type { HttpSettings } from './http-settings.js';

export { parseListen } from './http-settings.js';

export interface AgentApi {
  health(): unknown;
  status(): unknown;
  /** The Prometheus exposition (GET /metrics). */
  metrics?(): Promise<{ contentType: string; body: string }>;
  /** Queues a reconcile; coalesced with one already running. */
  trigger(): void;
}

/**
 * What one client can cost the agent (docs/security.md): slow or held connections are cut by
 * the header and request timeouts, the connection count is capped, and at most a few signed
 * webhook bodies (1 MiB each) are buffered at once; everything else is answered from headers.
 */
export interface HttpLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** How often Node looks for connections past their header/request timeout. */
  checkIntervalMs: number;
  maxConnections: number;
  maxHeaderBytes: number;
  maxBodyBytes: number;
  maxBodiesInFlight: number;
}

export const HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
  maxConnections: 64,
  maxHeaderBytes: 8 * 1024,
  maxBodyBytes: 1024 * 1024,
  maxBodiesInFlight: 8,
};

/**
 * Sends a JSON answer. `close` ends the connection after it: used whenever the request body was
 * not read, so Node does not keep reading (and discarding) what a client still sends.
 */
function send(res: ServerResponse, code: number, body: unknown, close = false): void {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  if (code === 401) headers['www-authenticate'] = 'Bearer realm="driftd"';
  if (close) headers.connection = 'close';
  res.writeHead(code, headers);
  res.end(`${JSON.stringify(body)}\n`);
}

const deny = (res: ServerResponse, d: Denial, close = false): void => send(res, d.status, { error: d.error }, close);

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.pause();
        reject(new BodyTooLarge());
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    // A client that goes away (or is cut by the request timeout) mid-body: nothing more will come.
    req.on('close', () => reject(new Error('connection closed before the body ended')));
  });
}

/** The request handler: routes, each behind its guard. Exported so the server can be wrapped or tested alone. */
export function httpHandler(settings: HttpSettings, api: AgentApi, limits: HttpLimits = HTTP_LIMITS): RequestListener {
  const readAllowed = readGuard(settings.readToken);
  let bodiesInFlight = 0;
  const tooLarge = { status: 413, error: `request body over ${limits.maxBodyBytes} bytes` };

  const webhook = (req: IncomingMessage, res: ServerResponse): void => {
    const decision = webhookDecision(settings.webhookSecret, req.headers);
    if (decision.kind === 'deny') return deny(res, decision.denial, true);
    if (decision.kind === 'accept') {
      api.trigger();
      return send(res, 202, { queued: true }, true);
    }
    if (Number(req.headers['content-length'] ?? 0) > limits.maxBodyBytes) return deny(res, tooLarge, true);
    if (bodiesInFlight >= limits.maxBodiesInFlight) return deny(res, { status: 503, error: 'too many signed webhooks in flight; retry' }, true);
    bodiesInFlight += 1;
    readBody(req, limits.maxBodyBytes)
      .then(
        (body) => {
          if (!signatureMatches(settings.webhookSecret as string, decision.signature, body)) return deny(res, { status: 401, error: 'the webhook signature does not match' });
          api.trigger();
          return send(res, 202, { queued: true });
        },
        (e: unknown) => (e instanceof BodyTooLarge ? deny(res, tooLarge, true) : req.destroy()),
      )
      .finally(() => (bodiesInFlight -= 1));
    return undefined;
  };

  return (req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/healthz') return send(res, 200, api.health());
    if (req.method === 'GET' && (url === '/status' || url === '/api/status')) {
      const denial = readAllowed(req.headers);
      return denial ? deny(res, denial) : send(res, 200, api.status());
    }
    if (req.method === 'GET' && url === '/metrics' && api.metrics) {
      const denial = settings.metricsOpen ? undefined : readAllowed(req.headers);
      if (denial) return deny(res, denial);
      api.metrics().then(
        (m) => {
          res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store' });
          res.end(m.body);
        },
        () => send(res, 500, { error: 'metrics could not be collected; see the agent log' }),
      );
      return undefined;
    }
    if (req.method === 'POST' && (url === '/webhook' || url === '/sync')) return webhook(req, res);
    return send(res, 404, { error: 'not found: use GET /healthz, GET /status, GET /metrics or POST /webhook' }, req.method !== 'GET');
  };
}

/**
 * No request may take the agent down: whatever a handler throws (a broken state DB behind
 * /status) becomes a JSON 500 and one log line; a trigger that throws after the body was read
 * is logged instead of becoming an unhandled rejection.
 */
export function guarded(handler: RequestListener, logger?: Pick<Logger, 'error'>): RequestListener {
  return (req, res) => {
    try {
      handler(req, res);
    } catch (e) {
      logger?.error({ method: req.method, url: req.url, err: describeError(e) }, `HTTP ${req.method ?? '?'} ${req.url ?? '?'} failed: ${describeError(e)}`);
      if (res.headersSent) res.destroy();
      else send(res, 500, { error: describeError(e) });
    }
  };
}

function loggedTrigger(api: AgentApi, logger?: Pick<Logger, 'error'>): AgentApi {
  return {
    health: () => api.health(),
    status: () => api.status(),
    ...(api.metrics ? { metrics: api.metrics } : {}),
    trigger: () => {
      try {
        api.trigger();
      } catch (e) {
        logger?.error({ err: describeError(e) }, `webhook trigger failed: ${describeError(e)}`);
      }
    },
  };
}

/** GET /healthz (open), GET /status, /api/status and /metrics (read token, or `http.metrics: open`), POST /webhook and /sync (webhook secret). */
export function startHttp(settings: HttpSettings, api: AgentApi, limits: HttpLimits = HTTP_LIMITS, logger?: Pick<Logger, 'error'>): Promise<Server> {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
      maxHeaderSize: limits.maxHeaderBytes,
    },
    guarded(httpHandler(settings, loggedTrigger(api, logger), limits), logger),
  );
  server.maxConnections = limits.maxConnections;
  // A connection idle this long (no request, no bytes) is closed even between the checks above.
  server.setTimeout(limits.requestTimeoutMs);
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new DriftdError('ConfigError', `cannot listen on ${settings.listen}: ${e.message}`, { key: 'http.listen' })));
    server.listen(settings.port, settings.host, () => resolve(server));
  });
}
