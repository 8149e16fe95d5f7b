/**
 * One HTTP(S) request with a deadline, a response size cap and, for https, an optional extra CA
 * (PEM) to trust besides the system's: the hub's clients (the agent's reporter, `driftd fleet
 * status`) use it so that a hub with a private or self-signed certificate can be trusted by file
 * (`hub.caFile`, `--ca-file`) without touching the process-wide trust store.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** PEM certificates trusted in addition to the system's CAs. */
  ca?: string;
  signal?: AbortSignal;
  /** The answer is cut (and the request fails) beyond this many bytes (default 16 MiB). */
  maxBytes?: number;
}

export interface RequestAnswer {
  status: number;
  text: string;
}

export function requestText(url: string, opts: RequestOptions = {}): Promise<RequestAnswer> {
  const u = new URL(url);
  const max = opts.maxBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const options = {
      method: opts.method ?? 'GET',
      headers: { ...opts.headers, ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}) },
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
    const onAnswer = (res: import('node:http').IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) {
          res.destroy();
          reject(new Error(`the answer is larger than ${max} bytes`));
        } else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req =
      u.protocol === 'https:'
        ? httpsRequest(u, { ...options, ...(opts.ca !== undefined ? { ca: opts.ca } : {}) }, onAnswer)
        : httpRequest(u, options, onAnswer);
    req.on('error', reject);
    req.end(opts.body);
  });
}
