/**
 * The status page's routes (docs/status-page.md): GET /, /stacks/<name>, /history behind the
 * read token (Bearer or the login cookie), GET+POST /login, POST /logout, POST /approve/<name>
 * (read session + write token + CSRF), and the two static assets. Every answer carries the
 * security headers; authenticated pages are never cached.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { describeError, isDriftdError } from '../errors/index.js';
import type { Logger } from '../util/logger.js';
import { BodyTooLarge, readBody } from '../util/read-body.js';
import { PAGE_CSS, PAGE_JS } from './assets.js';
import type { Html } from './html.js';
import type { HistoryFilter, PageSource } from './model.js';
import { scrubModel } from './scrub.js';
import { CLEAR_SESSION_COOKIE, cookieValue, SESSION_COOKIE, sessionCookie, type Sessions } from './session.js';
import { errorPage, historyPage, loginPage, overviewPage, stackPage, type RenderContext } from './views.js';

export interface PageDeps {
  source: PageSource;
  /** Undefined when no read token is configured: the page is closed (403). */
  sessions?: Sessions;
  /** Constant-time checks against the configured tokens (agent/http-auth.ts). */
  readMatches(given: string): boolean;
  /** False when no write token is configured. */
  writeMatches(given: string): boolean;
  bearer(headers: IncomingHttpHeaders): string | undefined;
  /** Secrets never to show, even in an error message. */
  secrets: readonly string[];
  logger?: PageLogger;
}

/** The agent's logger, or any part of it (tests pass only `error`). */
export type PageLogger = Pick<Logger, 'error'> & Partial<Pick<Logger, 'warn' | 'info'>>;

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

const FORM_MAX_BYTES = 8 * 1024;

function reply(res: ServerResponse, status: number, body: Html | string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(String(body));
}

function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, 'cache-control': 'no-store', ...headers });
  res.end();
}

/** Only a local path may follow a login: never `//host` or `/\host` (open redirect). */
export function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || /[\r\n\t]/.test(next) || next.length > 512) return '/';
  return next;
}

export const historyFilterSchema = z.object({
  stack: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/).optional().catch(undefined),
  action: z.string().max(32).optional().catch(undefined),
  result: z.string().max(32).optional().catch(undefined),
  trigger: z.string().max(32).optional().catch(undefined),
  limit: z.coerce.number().int().min(1).max(1000).catch(200).default(200),
});

/** Query → filter; an unknown or malformed value is simply no filter (the page never errors on a query). */
export function parseHistoryFilter(params: URLSearchParams): HistoryFilter {
  const raw: Record<string, string> = {};
  for (const k of ['stack', 'action', 'result', 'trigger', 'limit']) {
    const v = params.get(k);
    if (v !== null && v !== '') raw[k] = v;
  }
  const f = historyFilterSchema.parse(raw);
  return {
    limit: f.limit,
    ...(f.stack ? { stack: f.stack } : {}),
    ...(f.action ? { action: f.action } : {}),
    ...(f.result ? { result: f.result } : {}),
    ...(f.trigger ? { trigger: f.trigger } : {}),
  };
}

type Auth = { ok: true; identity: string; cookie: boolean } | { ok: false; status: 401 | 403; message: string; redirect: boolean };

/**
 * A form POST must come from this page: a browser sends Origin (and Sec-Fetch-Site) on every
 * POST, and another site's form or script shows up there. Missing headers (curl) pass; the
 * CSRF token is checked in any case.
 */
function sameOrigin(headers: IncomingHttpHeaders): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = headers.origin;
  if (origin === undefined) return true;
  const host = headers.host ?? '';
  return origin === `http://${host}` || origin === `https://${host}`;
}

export function pageHandler(deps: PageDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { source, sessions } = deps;

  const authenticate = (req: IncomingMessage): Auth => {
    if (!sessions) return { ok: false, status: 403, message: 'The status page is closed: no read token is configured (http.readTokenEnv or http.readTokenFile).', redirect: false };
    if (req.headers.authorization !== undefined) {
      const given = deps.bearer(req.headers);
      return given !== undefined && deps.readMatches(given)
        ? { ok: true, identity: 'bearer', cookie: false }
        : { ok: false, status: 401, message: 'The read token does not match.', redirect: false };
    }
    const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (cookie !== undefined && sessions.valid(cookie)) return { ok: true, identity: cookie, cookie: true };
    return { ok: false, status: 401, message: 'Sign in with the read token.', redirect: true };
  };

  const fail = (res: ServerResponse, status: number, message: string): void => reply(res, status, errorPage(status, scrubModel(message, deps.secrets)));

  const denied = (req: IncomingMessage, res: ServerResponse, a: Extract<Auth, { ok: false }>): void => {
    if (a.redirect && req.method === 'GET') return redirect(res, `/login?next=${encodeURIComponent(req.url ?? '/')}`);
    return reply(res, a.status, errorPage(a.status, a.message), a.status === 401 ? { 'www-authenticate': 'Bearer realm="driftd"' } : {});
  };

  const readForm = async (req: IncomingMessage): Promise<URLSearchParams> => {
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('application/x-www-form-urlencoded')) return new URLSearchParams();
    return new URLSearchParams((await readBody(req, FORM_MAX_BYTES)).toString('utf8'));
  };

  const guarded = async (req: IncomingMessage, res: ServerResponse, run: (ctx: RenderContext) => Promise<void>): Promise<void> => {
    const a = authenticate(req);
    if (!a.ok) return denied(req, res, a);
    await run({ csrf: sessions?.csrf(a.identity) ?? '', cookie: a.cookie });
  };

  const routes = async (req: IncomingMessage, res: ServerResponse, path: string, params: URLSearchParams): Promise<boolean> => {
    if (req.method === 'GET' && path === '/') {
      await guarded(req, res, async (ctx) => reply(res, 200, overviewPage(await source.overview(), ctx)));
      return true;
    }
    if (req.method === 'GET' && path === '/history') {
      await guarded(req, res, async (ctx) => reply(res, 200, historyPage(await source.history(parseHistoryFilter(params)), ctx)));
      return true;
    }
    const stackMatch = /^\/stacks\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && stackMatch?.[1] !== undefined) {
      const name = decodeSegment(stackMatch[1]);
      await guarded(req, res, async (ctx) => {
        const m = name === undefined ? undefined : await source.stack(name);
        if (!m) return fail(res, 404, 'No such stack on this host.');
        const approved = params.get('approved');
        return reply(res, 200, stackPage(m, ctx, approved && /^[0-9a-f]{12}$/.test(approved) ? `Approved ${approved}; the agent applies it on its next reconcile (queued now).` : undefined));
      });
      return true;
    }
    if (path === '/login') {
      if (req.method === 'GET') {
        reply(res, sessions ? 200 : 403, loginPage({ next: safeNext(params.get('next') ?? undefined), closed: !sessions }));
        return true;
      }
      if (req.method === 'POST') {
        if (!sessions) return (reply(res, 403, loginPage({ next: '/', closed: true })), true);
        const form = await readForm(req);
        const next = safeNext(form.get('next') ?? undefined);
        const token = form.get('token') ?? '';
        if (!sameOrigin(req.headers) || token === '' || !deps.readMatches(token)) {
          deps.logger?.warn?.({ remote: req.socket.remoteAddress }, 'status page: a sign-in with a wrong read token was refused');
          reply(res, 401, loginPage({ next, error: 'That is not the read token.' }));
          return true;
        }
        redirect(res, next, { 'set-cookie': sessionCookie(sessions.issue()) });
        return true;
      }
    }
    if (req.method === 'POST' && path === '/logout') {
      const a = authenticate(req);
      const form = await readForm(req);
      if (!a.ok || !a.cookie || !sameOrigin(req.headers) || !sessions?.csrfValid(a.identity, form.get('csrf') ?? undefined)) {
        fail(res, 403, 'Sign-out refused: not signed in, or the form is stale. Reload the page and try again.');
        return true;
      }
      redirect(res, '/login', { 'set-cookie': CLEAR_SESSION_COOKIE });
      return true;
    }
    const approveMatch = /^\/approve\/([^/]+)$/.exec(path);
    if (req.method === 'POST' && approveMatch?.[1] !== undefined) {
      await approve(req, res, decodeSegment(approveMatch[1]));
      return true;
    }
    if (req.method === 'GET' && path === '/assets/page.css') {
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=300' });
      res.end(PAGE_CSS);
      return true;
    }
    if (req.method === 'GET' && path === '/assets/page.js') {
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=300' });
      res.end(PAGE_JS);
      return true;
    }
    return false;
  };

  /** Read session, same origin, CSRF, write token, then the approval itself: each refusal says which. */
  const approve = async (req: IncomingMessage, res: ServerResponse, stack: string | undefined): Promise<void> => {
    const a = authenticate(req);
    if (!a.ok) return denied(req, res, a);
    const form = await readForm(req);
    if (!sameOrigin(req.headers) || !sessions?.csrfValid(a.identity, form.get('csrf') ?? undefined)) {
      return fail(res, 403, 'Approval refused: the CSRF token is missing or does not match. Reload the stack page and try again.');
    }
    const write = form.get('writeToken') ?? '';
    if (write === '' || !deps.writeMatches(write)) {
      deps.logger?.warn?.({ stack, remote: req.socket.remoteAddress }, 'status page: an approval without the right write token was refused');
      return fail(res, 403, 'Approval refused: the write token is missing, wrong, or no write token is configured (http.writeTokenEnv or http.writeTokenFile).');
    }
    if (stack === undefined) return fail(res, 404, 'No such stack on this host.');
    const revision = form.get('revision') ?? undefined;
    try {
      const r = await source.approve(stack, revision, a.cookie ? 'status page (session)' : 'status page (bearer)');
      deps.logger?.info?.({ stack, revision: r.revision }, 'status page: revision approved');
      return redirect(res, `/stacks/${encodeURIComponent(stack)}?approved=${r.revision.slice(0, 12)}`);
    } catch (e) {
      if (isDriftdError(e) && (e.code === 'NotFound' || e.code === 'InvalidRef' || e.code === 'InvalidStackName')) return fail(res, 409, e.message);
      throw e;
    }
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://page.invalid');
    const path = url.pathname;
    const page = path === '/' || path === '/history' || path === '/login' || path === '/logout' || path.startsWith('/stacks/') || path.startsWith('/approve/') || path.startsWith('/assets/');
    if (!page) return false;
    routes(req, res, path, url.searchParams)
      .then((handled) => {
        if (!handled) fail(res, 404, 'Not found.');
      })
      .catch((e: unknown) => {
        if (res.headersSent) return void res.destroy();
        if (e instanceof BodyTooLarge) return fail(res, 413, `The form is over ${FORM_MAX_BYTES} bytes.`);
        deps.logger?.error({ err: describeError(e) }, 'status page: a request failed');
        return fail(res, 500, `The page could not be built: ${describeError(e)}`);
      });
    return true;
  };
}

function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
