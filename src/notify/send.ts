/**
 * One HTTP request to a receiver, with a deadline on the whole exchange (connect to last byte):
 * a receiver that accepts and never answers, or trickles its answer, is cut at `timeoutMs`.
 * Redirects are not followed (a signed body is for the configured URL only). The answer tells
 * the loop whether to retry. No text here quotes the URL: only status codes, error codes and a
 * short excerpt of the receiver's answer, all through the scrubber.
 */
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { scrub } from '../util/scrub.js';
import type { OutgoingRequest } from './format.js';

export interface SendResult {
  ok: boolean;
  status?: number;
  /** One line for status and logs (scrubbed). */
  error?: string;
  /** Worth trying again: network errors, timeouts, 408, 425, 429, 5xx. */
  retryable: boolean;
  /** The receiver's Retry-After, when it sent one (capped by the caller). */
  retryAfterMs?: number;
}

/** Of an error answer, only this much is kept (for `status`). */
const EXCERPT_BYTES = 300;

const RETRYABLE_STATUS = new Set([408, 425, 429]);

function retryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  if (/^\d{1,6}$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

function excerpt(body: Buffer): string {
  // eslint-disable-next-line no-control-regex -- control characters must not reach a log line
  const flat = body.toString('utf8').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

function networkError(e: NodeJS.ErrnoException, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no answer within ${Math.round(timeoutMs / 100) / 10} s`;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'connection timed out',
    EPIPE: 'connection closed',
  };
  if (e.code && known[e.code]) return `${known[e.code]} (${e.code})`;
  if (e.code?.startsWith('ERR_TLS') || e.code?.includes('CERT')) return `TLS error (${e.code})`;
  return e.code ? `request failed (${e.code})` : 'request failed';
}

export function send(req: OutgoingRequest, timeoutMs: number, signal?: AbortSignal): Promise<SendResult> {
  return new Promise((resolve) => {
    let settled = false;
    let timedOut = false;
    const done = (r: SendResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r.error === undefined ? r : { ...r, error: scrub(r.error) });
    };
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      resolve({ ok: false, error: 'not a valid URL', retryable: false });
      return;
    }
    const body = Buffer.from(req.body, 'utf8');
    const client = url.protocol === 'https:' ? https : http;
    const trust = req.ca !== undefined && url.protocol === 'https:' ? { ca: [...rootCertificates, req.ca] } : {};
    const outgoing = client.request(url, { method: req.method, headers: { ...req.headers, 'content-length': String(body.length) }, agent: false, ...trust }, (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < EXCERPT_BYTES) chunks.push(c.subarray(0, EXCERPT_BYTES - size));
        size += c.length;
      });
      res.on('end', () => {
        if (status >= 200 && status < 300) return done({ ok: true, status, retryable: false });
        const text = excerpt(Buffer.concat(chunks));
        const after = retryAfter(res.headers['retry-after']);
        done({
          ok: false,
          status,
          error: `HTTP ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}${text ? `: ${text}` : ''}`,
          retryable: status >= 500 || RETRYABLE_STATUS.has(status),
          ...(after !== undefined ? { retryAfterMs: after } : {}),
        });
      });
      res.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, status, error: networkError(e, timedOut, timeoutMs), retryable: true }));
    });
    const timer = setTimeout(() => {
      timedOut = true;
      outgoing.destroy(new Error('timeout'));
    }, timeoutMs);
    const onAbort = (): void => {
      outgoing.destroy(new Error('aborted'));
      done({ ok: false, error: 'driftd is stopping', retryable: true });
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, error: networkError(e, timedOut, timeoutMs), retryable: true }));
    outgoing.end(body);
  });
}
