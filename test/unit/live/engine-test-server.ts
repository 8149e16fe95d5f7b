/**
 * Our own HTTP test server, for the engine client's transport and error tests: it listens on a
 * temp unix socket, answers whatever each test's route returns and records what it received.
 * It is not a stand-in for Docker: what the real engine answers is checked in
 * test/integration/engine-client.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** Answer a request; `res` is left open (a hanging engine) when the route never ends it. */
export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export const json =
  (status: number, body: unknown): Route =>
  (_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };

export class EngineTestServer {
  readonly received: Received[] = [];
  /** Connections accepted so far (keep-alive reuse keeps this low). */
  connections = 0;
  route: Route = json(200, {});

  private constructor(
    private readonly server: http.Server,
    private readonly dir: string,
    readonly socketPath: string,
  ) {}

  static async start(): Promise<EngineTestServer> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'driftd-engine-test-'));
    const socketPath = path.join(dir, 'engine.sock');
    const server = http.createServer();
    // Far longer than any test: an idle connection must never be what lets a client process exit.
    server.keepAliveTimeout = 120_000;
    const self = new EngineTestServer(server, dir, socketPath);
    server.on('connection', () => self.connections++);
    server.on('request', (req, res) => {
      self.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      self.route(req, res);
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return self;
  }

  get address(): string {
    return `unix://${this.socketPath}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
