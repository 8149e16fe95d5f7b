/**
 * HTTP to the engine over node:http/node:https: one keep-alive agent per client, so parallel
 * calls reuse a few connections. Idle pooled connections are unref'd by the agent, so a
 * command exits as soon as its work is done.
 */
import http from 'node:http';
import https from 'node:https';
import type { EngineEndpoint } from './engine-endpoint.js';
import { sshDialArgs, SshAgent } from './engine-ssh.js';

/**
 * Connections per engine. The inventory keeps 16 inspects in flight, but 4 connections answer
 * them as fast as 8 or 16 (measured on the unix socket, 200 containers), and over ssh each
 * connection is an ssh process and a login on the host.
 */
const MAX_SOCKETS = 4;

/** An HTTP error from the engine: its status and, as the message, the engine's own words. */
export class EngineHttpError extends Error {
  override readonly name = 'EngineHttpError';

  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface EngineRequest {
  /** Path and query, e.g. `/containers/json?all=1`. */
  path: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export type Send = (request: EngineRequest) => Promise<unknown>;

/** The engine answers errors as `{"message": "…"}`; anything else (a proxy's page) is quoted briefly. */
function engineHttpError(status: number, body: Buffer): EngineHttpError {
  const text = body.toString('utf8').trim();
  let message: unknown;
  try {
    message = (JSON.parse(text) as { message?: unknown } | null)?.message;
  } catch {
    message = undefined;
  }
  if (typeof message === 'string' && message !== '') return new EngineHttpError(status, message);
  return new EngineHttpError(status, text === '' ? `HTTP ${status}` : `HTTP ${status}: ${text.slice(0, 200)}`);
}

function decode(contentType: string | undefined, body: Buffer): unknown {
  if (!contentType?.includes('application/json')) return body.toString('utf8');
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new Error(`the engine answered invalid JSON (${body.length} bytes)`);
  }
}

function transport(endpoint: EngineEndpoint, pool: { keepAlive: boolean; maxSockets: number } = { keepAlive: true, maxSockets: MAX_SOCKETS }): { request: typeof http.request; base: http.RequestOptions } {
  switch (endpoint.transport) {
    case 'unix':
      return { request: http.request, base: { socketPath: endpoint.socketPath, agent: new http.Agent(pool) } };
    case 'http':
      return { request: http.request, base: { host: endpoint.host, port: endpoint.port, agent: new http.Agent(pool) } };
    case 'https':
      return { request: https.request, base: { host: endpoint.host, port: endpoint.port, agent: new https.Agent({ ...pool, ...endpoint.tls }) } };
    case 'ssh':
      return { request: http.request, base: { host: endpoint.host, agent: new SshAgent(sshDialArgs(endpoint), pool) } };
  }
}

interface Answer {
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

function exchange(request: typeof http.request, options: http.RequestOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What a long-lived GET (the event stream) reports while it is open. */
export interface StreamHandlers {
  /** The engine answered 2xx: the stream is open. */
  onOpen(): void;
  /** Some bytes arrived (their content is not read: any of them means "something changed"). */
  onData(): void;
}

export type Stream = (request: EngineRequest & { signal: AbortSignal }, handlers: StreamHandlers) => Promise<void>;

/** An error answer to a stream is quoted from at most this many bytes. */
const STREAM_ERROR_BYTES = 4096;

/**
 * A long-lived GET on a connection of its own (a stream must not hold one of the pooled
 * connections the calls share). Resolves when the engine ends the answer, rejects on a transport
 * error, an abort or a non-2xx answer (EngineHttpError). The body is never collected, so a flood
 * costs no memory.
 */
export function engineStreamer(endpoint: EngineEndpoint): Stream {
  return ({ path, headers = {}, signal }, handlers) =>
    new Promise((resolve, reject) => {
      // Its own connection, closed when the stream ends (a kept-alive socket per reconnect would pile up).
      const { request, base } = transport(endpoint, { keepAlive: false, maxSockets: 1 });
      const req = request({ ...base, method: 'GET', path, headers, signal }, (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (size < STREAM_ERROR_BYTES) chunks.push(chunk);
            size += chunk.length;
          });
          res.on('end', () => reject(engineHttpError(status, Buffer.concat(chunks).subarray(0, STREAM_ERROR_BYTES))));
          res.on('error', reject);
          return;
        }
        handlers.onOpen();
        res.on('data', () => handlers.onData());
        res.on('error', reject);
        res.on('end', () => resolve());
        // A connection cut mid-answer: whichever of end, error or close comes first settles it.
        res.on('close', () => reject(new Error('the connection to the engine closed')));
      });
      req.on('error', reject);
      req.end();
    });
}

/** A GET sender for one engine; bodies are JSON-decoded (text for /_ping), non-2xx answers throw EngineHttpError. */
export function engineSender(endpoint: EngineEndpoint): Send {
  const { request, base } = transport(endpoint);
  return async ({ path, headers = {}, signal }) => {
    const answer = await exchange(request, { ...base, method: 'GET', path, headers, ...(signal ? { signal } : {}) });
    if (answer.status < 200 || answer.status > 299) throw engineHttpError(answer.status, answer.body);
    return decode(answer.contentType, answer.body);
  };
}
