/**
 * A real Git smart-HTTP server for tests: node:http in front of `git http-backend` (CGI),
 * serving bare repos from a temp directory on a random 127.0.0.1 port. It records every
 * request (service, protocol-v2 command, status, bytes) so tests can prove what a client
 * did, supports optional Basic auth, and can be stopped and restarted on the same port to
 * simulate an outage.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { execFileCapture } from '../../src/util/exec.js';

export type GitService = 'info/refs' | 'git-upload-pack' | 'git-receive-pack' | 'other';

export interface GitRequestRecord {
  /** Repo path as requested, e.g. "desired.git". */
  repo: string;
  service: GitService;
  /** For upload-pack POSTs: "ls-refs" / "fetch" (protocol v2 command, or a v0/v1 want list = "fetch"). */
  command?: string;
  method: string;
  status: number;
  requestBytes: number;
  responseBytes: number;
  /** When the request arrived (performance.now(), ms). */
  receivedMs: number;
}

export interface BasicAuth {
  username: string;
  password: string;
}

export interface GitServerOptions {
  auth?: BasicAuth;
  /** At most this many `git http-backend` processes at once; later requests wait (a fleet simulation's thousand polls). */
  maxBackends?: number;
}

/**
 * A fault the server injects into the requests of `service` (every service when absent), until
 * cleared: `status500` answers HTTP 500; `hang` accepts the request and never answers (the socket
 * stays open until stop()); `truncate-pack` runs git http-backend but cuts its answer after
 * `bytes` body bytes (default: half of what a fetch sends), as a proxy or a dropped link would;
 * `bytes: 'before-pack'` cuts on the pkt-line boundary before the first pack data line.
 */
export type GitFault =
  | { mode: 'status500'; service?: FaultTarget }
  | { mode: 'hang'; service?: FaultTarget }
  | { mode: 'truncate-pack'; service?: FaultTarget; bytes?: number | 'before-pack' };

/**
 * A service, or `refs`: every ref listing whatever its protocol (GET info/refs, or a v2 ls-refs
 * POST), or `pack`: the fetch (an upload-pack POST that is not ls-refs).
 */
export type FaultTarget = GitService | 'refs' | 'pack';

export interface ServedRepo {
  name: string;
  /** Bare repo on disk (push here with the repo builder). */
  path: string;
  url: string;
}

type RequestFilter = Partial<Pick<GitRequestRecord, 'repo' | 'service' | 'command' | 'method' | 'status'>>;

const SERVICE_PATTERN = /^\/(.+?)\/(info\/refs|git-upload-pack|git-receive-pack)$/;

/** A git protocol request body starts with pkt-lines: "0014command=ls-refs\n" (v2) or "0032want <oid>…" (v0/v1). */
function classifyUploadPackBody(head: Buffer): string | undefined {
  const text = head.toString('latin1');
  const v2 = /^[0-9a-f]{4}command=([a-z-]+)/.exec(text);
  if (v2) return v2[1];
  if (/^[0-9a-f]{4}want /.test(text)) return 'fetch';
  return undefined;
}

function basicAuthMatches(header: string | undefined, auth: BasicAuth): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  return decoded === `${auth.username}:${auth.password}`;
}

export class GitServer {
  readonly root: string;
  readonly requests: GitRequestRecord[] = [];
  private readonly auth: BasicAuth | undefined;
  private server: http.Server | undefined;
  private boundPort = 0;
  /** Set to inject a fault into the requests that follow; undefined serves normally. */
  fault: GitFault | undefined;
  /** false: the Git-Protocol header does not reach http-backend (a server that speaks only v0, like git < 2.18). */
  protocolV2 = true;
  private readonly hung = new Set<http.ServerResponse>();
  private readonly maxBackends: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  private constructor(opts: GitServerOptions) {
    this.root = mkdtempSync(path.join(os.tmpdir(), 'driftd-git-server-'));
    this.auth = opts.auth;
    this.maxBackends = opts.maxBackends ?? Number.POSITIVE_INFINITY;
  }

  static async start(opts: GitServerOptions = {}): Promise<GitServer> {
    const s = new GitServer(opts);
    await s.start();
    return s;
  }

  get port(): number {
    return this.boundPort;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  urlFor(name: string): string {
    return `${this.baseUrl}/${name}`;
  }

  /** Creates an empty bare repo served as `<baseUrl>/<name>` (name should end in ".git"). */
  async createRepo(name: string): Promise<ServedRepo> {
    const repoPath = path.join(this.root, name);
    const r = await execFileCapture('git', ['init', '--quiet', '--bare', '--initial-branch=main', repoPath]);
    if (r.code !== 0) throw new Error(`git init --bare failed: ${r.stderr}`);
    return { name, path: repoPath, url: this.urlFor(name) };
  }

  /** Listens (again) on 127.0.0.1: a random port the first time, the same port after stop(). */
  async start(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and drops open connections: clients now get "connection refused". */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const res of this.hung) res.destroy();
    this.hung.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  }

  /** Stops and removes every repo. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.root, { recursive: true, force: true });
  }

  count(filter: RequestFilter = {}): number {
    return this.matching(filter).length;
  }

  bytes(filter: RequestFilter = {}): { request: number; response: number } {
    return this.matching(filter).reduce(
      (acc, r) => ({ request: acc.request + r.requestBytes, response: acc.response + r.responseBytes }),
      { request: 0, response: 0 },
    );
  }

  resetStats(): void {
    this.requests.length = 0;
  }

  private matching(filter: RequestFilter): GitRequestRecord[] {
    const keys = Object.keys(filter) as (keyof RequestFilter)[];
    return this.requests.filter((r) => keys.every((k) => r[k] === filter[k]));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const match = SERVICE_PATTERN.exec(url.pathname);
    const record: GitRequestRecord = {
      repo: match?.[1] ?? url.pathname.replace(/^\//, ''),
      service: (match?.[2] as GitService | undefined) ?? 'other',
      method: req.method ?? 'GET',
      status: 0,
      requestBytes: 0,
      responseBytes: 0,
      receivedMs: performance.now(),
    };
    this.requests.push(record);
    req.on('data', (b: Buffer) => {
      record.requestBytes += b.length;
    });
    // A 'data' listener starts the flow: paused until the backend pipes it, a request queued behind
    // maxBackends would otherwise lose its body before its backend runs.
    req.pause();
    const reply = (status: number, headers: Record<string, string>, body: string): void => {
      record.status = status;
      record.responseBytes += Buffer.byteLength(body);
      res.writeHead(status, headers).end(body);
    };

    if (this.auth && !basicAuthMatches(req.headers.authorization, this.auth)) {
      req.resume();
      reply(401, { 'WWW-Authenticate': 'Basic realm="driftd-test"', 'Content-Type': 'text/plain' }, 'authentication required\n');
      return;
    }

    if (this.fault && (this.fault.service === 'refs' || this.fault.service === 'pack') && record.service === 'git-upload-pack' && record.command === undefined) {
      // Which kind of upload-pack POST this is shows only in its body: read it before deciding.
      const chunks: Buffer[] = [];
      req.on('data', (b: Buffer) => chunks.push(b));
      req.on('end', () => {
        const buffered = Buffer.concat(chunks);
        record.command = classifyUploadPackBody(buffered) ?? 'unknown';
        this.serve(req, res, url, record, reply, Readable.from([buffered]));
      });
      req.resume();
      return;
    }
    this.serve(req, res, url, record, reply, req);
  }

  private faultFor(record: GitRequestRecord): GitFault | undefined {
    const target = this.fault?.service;
    if (!this.fault || target === undefined || target === record.service) return this.fault;
    const upload = record.service === 'git-upload-pack';
    if (target === 'refs') return record.service === 'info/refs' || (upload && record.command === 'ls-refs') ? this.fault : undefined;
    if (target === 'pack') return upload && record.command !== 'ls-refs' ? this.fault : undefined;
    return undefined;
  }

  private serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    record: GitRequestRecord,
    reply: (status: number, headers: Record<string, string>, body: string) => void,
    input: Readable,
  ): void {
    const fault = this.faultFor(record);
    if (fault?.mode === 'status500') {
      req.resume();
      reply(500, { 'Content-Type': 'text/plain' }, 'injected fault: internal server error\n');
      return;
    }
    if (fault?.mode === 'hang') {
      req.resume();
      this.hung.add(res);
      res.on('close', () => this.hung.delete(res));
      return;
    }

    let body: Readable = input;
    if (req.headers['content-encoding'] === 'gzip') body = input.pipe(createGunzip());
    const run = (): void => {
      this.running += 1;
      res.once('close', () => {
        this.running -= 1;
        this.waiting.shift()?.();
      });
      this.runBackend(req, url, body, record, res, fault?.mode === 'truncate-pack' ? (fault.bytes ?? -1) : undefined);
    };
    if (this.running < this.maxBackends) run();
    else this.waiting.push(run);
  }

  /** `truncateAfter`: end the answer after that many body bytes (-1: half of what the backend sends). */
  private runBackend(
    req: http.IncomingMessage,
    url: URL,
    body: Readable,
    record: GitRequestRecord,
    res: http.ServerResponse,
    truncateAfter?: number | 'before-pack',
  ): void {
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: this.root,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_PROJECT_ROOT: this.root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ''),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
        ...(this.protocolV2 && typeof req.headers['git-protocol'] === 'string' ? { GIT_PROTOCOL: req.headers['git-protocol'] } : {}),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });

    let head = Buffer.alloc(0);
    body.on('data', (b: Buffer) => {
      if (record.service === 'git-upload-pack' && record.command === undefined && head.length < 64) {
        head = Buffer.concat([head, b]);
        record.command = classifyUploadPackBody(head);
      }
    });
    body.on('error', () => child.kill()); // e.g. a corrupt gzip body: the backend then fails the request
    body.pipe(child.stdin);
    child.stdin.on('error', () => undefined); // the backend may exit before reading everything (e.g. 404)

    const stderr: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => stderr.push(b));

    let pending = Buffer.alloc(0);
    let headersSent = false;
    const out: Buffer[] = [];
    const write = (chunk: Buffer): void => {
      record.responseBytes += chunk.length;
      if (truncateAfter === undefined) res.write(chunk);
      else out.push(chunk); // held back until the backend ends, then cut
    };
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersSent) {
        write(chunk);
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      const sep = pending.indexOf('\r\n\r\n');
      const lfSep = pending.indexOf('\n\n');
      const [end, sepLen] = sep >= 0 && (lfSep < 0 || sep < lfSep) ? [sep, 4] : [lfSep, 2];
      if (end < 0) return;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of pending.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      record.status = status;
      res.writeHead(status, headers);
      headersSent = true;
      const rest = pending.subarray(end + sepLen);
      if (rest.length > 0) write(rest);
    });
    child.on('close', (code) => {
      if (res.writableEnded) return;
      if (!headersSent) {
        record.status = 500;
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`git http-backend exited with ${code}: ${Buffer.concat(stderr).toString('utf8')}`);
        return;
      }
      if (truncateAfter !== undefined) {
        const all = Buffer.concat(out);
        const keep =
          truncateAfter === 'before-pack' ? firstPackLine(all) : truncateAfter < 0 ? Math.floor(all.length / 2) : Math.min(truncateAfter, all.length);
        record.responseBytes = keep;
        res.end(all.subarray(0, keep));
        return;
      }
      res.end();
    });
    child.on('error', (e) => {
      if (res.writableEnded) return;
      record.status = 500;
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`cannot run git http-backend: ${e.message}`);
    });
  }
}

/** The offset of the first side-band pack data line (band 1) of an upload-pack answer; its length when there is none. */
function firstPackLine(answer: Buffer): number {
  let at = 0;
  while (at + 4 <= answer.length) {
    const len = Number.parseInt(answer.subarray(at, at + 4).toString('latin1'), 16);
    if (!Number.isInteger(len)) break;
    if (len >= 5 && answer[at + 4] === 1) return at;
    at += len < 4 ? 4 : len;
  }
  return answer.length;
}
