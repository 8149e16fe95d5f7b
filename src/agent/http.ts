import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DriftdError } from '../errors/index.js';

export interface AgentApi {
  health(): unknown;
  status(): unknown;
  /** Queues a reconcile; coalesced with one already running. */
  trigger(): void;
}

const MAX_BODY = 1024 * 1024;

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new DriftdError('ConfigError', `http.listen "${listen}" must be host:port, e.g. 127.0.0.1:9797`, { key: 'http.listen' });
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A webhook is accepted with `Authorization: Bearer <secret>` or a GitHub/Gitea-style `X-Hub-Signature-256` HMAC. */
export function webhookAuthorized(secret: string | undefined, headers: IncomingMessage['headers'], body: Buffer): boolean {
  if (!secret) return true;
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ') && safeEqual(auth.slice(7), secret)) return true;
  const sig = headers['x-hub-signature-256'];
  if (typeof sig === 'string') return safeEqual(sig, `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  return false;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** GET /healthz, GET /status, POST /webhook (and POST /sync): the agent's small HTTP surface. */
export function startHttp(listen: string, api: AgentApi, secret?: string): Promise<Server> {
  const { host, port } = parseListen(listen);
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/healthz') return send(res, 200, api.health());
    if (req.method === 'GET' && url === '/status') return send(res, 200, api.status());
    if (req.method === 'POST' && (url === '/webhook' || url === '/sync')) {
      readBody(req).then(
        (body) => {
          if (!webhookAuthorized(secret, req.headers, body)) return send(res, 401, { error: 'webhook secret does not match' });
          api.trigger();
          return send(res, 202, { queued: true });
        },
        () => send(res, 413, { error: 'request body over 1 MiB' }),
      );
      return undefined;
    }
    return send(res, 404, { error: 'not found: use GET /healthz, GET /status or POST /webhook' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new DriftdError('ConfigError', `cannot listen on ${listen}: ${e.message}`, { key: 'http.listen' })));
    server.listen(port, host, () => resolve(server));
  });
}
