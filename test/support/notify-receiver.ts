/**
 * A real HTTP receiver on 127.0.0.1 for notification tests: records every request (path,
 * headers, raw body), answers per path as the test says (200, any status, or hang: accept and
 * never answer), and counts what a receiver that dedups by event id would have kept.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
  /** The status it was answered with; undefined while held (or when the client went away first). */
  status?: number;
}

export type Answer = number | 'hang' | { status: number; headers?: Record<string, string>; body?: string };

export class Receiver {
  readonly requests: Received[] = [];
  readonly #answers = new Map<string, Answer>();
  readonly #hung = new Set<ServerResponse>();
  #server: Server | undefined;
  port = 0;

  /** Listens on `port` (0: any free one). */
  async start(port = this.port): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const received: Received = { path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        this.requests.push(received);
        const answer = this.#answers.get(path) ?? 200;
        if (answer === 'hang') {
          this.#hung.add(res);
          res.on('close', () => this.#hung.delete(res));
          return;
        }
        const a = typeof answer === 'number' ? { status: answer } : answer;
        received.status = a.status;
        res.writeHead(a.status, a.headers ?? {}).end(a.body ?? 'ok');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.#hung) res.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  answer(path: string, a: Answer): void {
    this.#answers.set(path, a);
  }

  on(path: string): Received[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** The bodies of `path` parsed as JSON. */
  json<T = Record<string, unknown>>(path: string): T[] {
    return this.on(path).map((r) => JSON.parse(r.body) as T);
  }

  /** Requests of `path` answered with a 2xx: what a receiver kept. */
  accepted(path: string): Received[] {
    return this.on(path).filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300);
  }

  /** Distinct event ids a receiver that dedups by X-Driftd-Delivery keeps. */
  uniqueDeliveries(path: string): string[] {
    return [...new Set(this.on(path).map((r) => String(r.headers['x-driftd-delivery'])))];
  }
}
