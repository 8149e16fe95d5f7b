/**
 * Runs post-deploy checks (docs/design.md §11): HTTP(S), TCP, and a command inside a service's container.
 * Every check is retried as a set until all pass or `checksTimeout` ends; the verdict names the
 * failing check, its last status and a scrubbed excerpt of its last body.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration } from '../util/duration.js';
import { checkName, excerpt, judgeHttp, substitute, type CheckVars } from './match.js';
import { DEFAULT_CHECK_TIMEOUT_MS, type CheckSpec, type ExecCheck, type HttpCheck, type TcpCheck } from './model.js';
import { describeError } from '../errors/index.js';

const MAX_BODY = 64 * 1024;

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What failed, one sentence (already scrubbed). */
  problem?: string;
  /** HTTP status or exit code of the last attempt. */
  status?: number;
  /** The start of the last body or command output (already scrubbed). */
  excerpt?: string;
}

export interface CheckContext {
  vars: CheckVars;
  /** Runs a command in a service's container; resolves with its exit code and output. */
  exec: (service: string, command: readonly string[], timeoutMs: number) => Promise<{ code: number; output: string }>;
  /** The one secret scrubber: every text that leaves this module goes through it. */
  scrub: (text: string) => string;
}

function timeoutOf(check: CheckSpec): number {
  return check.timeout === undefined ? DEFAULT_CHECK_TIMEOUT_MS : parseDuration(check.timeout, 'checks[].timeout');
}

function get(url: URL, check: HttpCheck, timeoutMs: number): Promise<{ status: number; body: string }> {
  const isHttps = url.protocol === 'https:';
  if (!isHttps && url.protocol !== 'http:') return Promise.reject(new Error(`unsupported URL scheme ${url.protocol} (http: or https:)`));
  const tls = isHttps ? { ...(check.caFile ? { ca: readFileSync(check.caFile) } : {}), rejectUnauthorized: check.insecure !== true } : {};
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(url, { method: 'GET', timeout: timeoutMs, headers: { 'user-agent': 'driftd-check', accept: '*/*' }, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        // Keep only the start of a large body: enough to match, never a memory problem.
        if (size < MAX_BODY) chunks.push(c.subarray(0, MAX_BODY - size));
        size += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 100) / 10} s`)));
    req.on('error', reject);
    req.end();
  });
}

async function runHttp(check: HttpCheck, ctx: CheckContext): Promise<CheckResult> {
  const name = ctx.scrub(substitute(checkName(check), ctx.vars));
  let url: URL;
  try {
    url = new URL(substitute(check.http, ctx.vars));
  } catch {
    return { name, ok: false, problem: 'not a valid URL' };
  }
  try {
    const answer = await get(url, check, timeoutOf(check));
    const problem = judgeHttp(check, answer, ctx.vars);
    return { name, ok: problem === undefined, status: answer.status, ...(problem ? { problem: ctx.scrub(problem), excerpt: ctx.scrub(excerpt(answer.body)) } : {}) };
  } catch (e) {
    return { name, ok: false, problem: ctx.scrub(describeError(e)) };
  }
}

function runTcp(check: TcpCheck, ctx: CheckContext): Promise<CheckResult> {
  const address = substitute(check.tcp, ctx.vars);
  const name = ctx.scrub(substitute(checkName(check), ctx.vars));
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  if (!m) return Promise.resolve({ name, ok: false, problem: `"${address}" is not host:port` });
  const timeoutMs = timeoutOf(check);
  return new Promise((resolve) => {
    const socket = net.connect({ host: m[1] ?? m[2] ?? '127.0.0.1', port: Number(m[3]), timeout: timeoutMs });
    const done = (r: CheckResult): void => {
      socket.destroy();
      resolve(r);
    };
    socket.once('connect', () => done({ name, ok: true }));
    socket.once('timeout', () => done({ name, ok: false, problem: `no connection within ${Math.round(timeoutMs / 1000)} s` }));
    socket.once('error', (e) => done({ name, ok: false, problem: ctx.scrub(e.message) }));
  });
}

async function runExec(check: ExecCheck, ctx: CheckContext): Promise<CheckResult> {
  const name = ctx.scrub(substitute(checkName(check), ctx.vars));
  try {
    const r = await ctx.exec(check.exec.service, check.exec.command.map((a) => substitute(a, ctx.vars)), timeoutOf(check));
    if (r.code === 0) return { name, ok: true, status: 0 };
    return { name, ok: false, status: r.code, problem: `exited ${r.code}`, excerpt: ctx.scrub(excerpt(r.output)) };
  } catch (e) {
    return { name, ok: false, problem: ctx.scrub(describeError(e)) };
  }
}

export function runCheck(check: CheckSpec, ctx: CheckContext): Promise<CheckResult> {
  if ('http' in check) return runHttp(check, ctx);
  if ('tcp' in check) return runTcp(check, ctx);
  return runExec(check, ctx);
}

/** Runs every check once, in order. */
export async function runChecksOnce(checks: readonly CheckSpec[], ctx: CheckContext): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const c of checks) out.push(await runCheck(c, ctx));
  return out;
}

export interface ChecksVerdict {
  ok: boolean;
  results: CheckResult[];
  attempts: number;
  waitedMs: number;
}

/** One sentence per failed check: name, problem, last status, body excerpt. */
export function describeFailures(results: readonly CheckResult[]): string[] {
  return results
    .filter((r) => !r.ok)
    .map((r) => `check ${r.name} failed: ${r.problem ?? 'failed'}${r.status !== undefined ? ` (last status ${r.status})` : ''}${r.excerpt ? `; body: ${JSON.stringify(r.excerpt)}` : ''}`);
}

/**
 * Retries the whole set until every check passes in one round, or `timeoutMs` has passed (at
 * least one round always runs), or `signal` aborts.
 */
export async function runChecks(checks: readonly CheckSpec[], ctx: CheckContext, opts: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal }): Promise<ChecksVerdict> {
  const started = Date.now();
  const interval = opts.intervalMs ?? 2000;
  for (let attempts = 1; ; attempts += 1) {
    const results = await runChecksOnce(checks, ctx);
    const waitedMs = Date.now() - started;
    if (results.every((r) => r.ok)) return { ok: true, results, attempts, waitedMs };
    if (waitedMs + interval > opts.timeoutMs || opts.signal?.aborted) return { ok: false, results, attempts, waitedMs };
    await sleep(interval);
  }
}
