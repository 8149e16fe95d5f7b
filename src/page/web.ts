/**
 * The server-rendered web pages' common ground, shared by the agent's status page
 * (page/routes.ts) and the hub's fleet page (hub/routes.ts): security headers, the read-token
 * session (Bearer or the login cookie), GET+POST /login, POST /logout, the two static assets,
 * error pages and the one error boundary. Each caller adds only its own routes.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { describeError } from '../errors/index.js';
import type { Logger } from '../util/logger.js';
import { BodyTooLarge, readBody } from '../util/read-body.js';
import { PAGE_CSS, PAGE_JS } from './assets.js';
import type { Html } from './html.js';
import { scrubDeep } from '../util/scrub.js';
import { CLEAR_SESSION_COOKIE, cookieValue, SESSION_COOKIE, sessionCookie, type Sessions } from './session.js';
import { errorPage, loginPage } from './views.js';

/** A logger, or any part of it (tests pass only `error`). */
export type PageLogger = Pick<Logger, 'error'> & Partial<Pick<Logger, 'warn' | 'info'>>;

export interface WebDeps {
  /** Undefined when no read token is configured: every page is closed (403). */
  sessions?: Sessions;
  /** Constant-time check against the configured read token. */
  readMatches(given: string): boolean;
  bearer(headers: IncomingHttpHeaders): string | undefined;
  /** Secrets never to show, even in an error message. */
  secrets: readonly string[];
  logger?: PageLogger;
  /** The setting(s) that open the pages, named when they are closed ("http.readTokenEnv or http.readTokenFile"). */
  readTokenSetting: string;
  /** What the login page calls the place ("this agent", "this hub"). */
  where: string;
}

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

export const FORM_MAX_BYTES = 8 * 1024;

export function reply(res: ServerResponse, status: number, body: Html | string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(String(body));
}

export function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, 'cache-control': 'no-store', ...headers });
  res.end();
}

/** Only a local path may follow a login: never `//host` or `/\host` (open redirect). */
export function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || /[\r\n\t]/.test(next) || next.length > 512) return '/';
  return next;
}

export type Auth = { ok: true; identity: string; cookie: boolean } | { ok: false; status: 401 | 403; message: string; redirect: boolean };

/**
 * A form POST must come from this page: a browser sends Origin (and Sec-Fetch-Site) on every
 * POST, and another site's form or script shows up there. Missing headers (curl) pass; the
 * CSRF token is checked in any case.
 */
export function sameOrigin(headers: IncomingHttpHeaders): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = headers.origin;
  if (origin === undefined) return true;
  const host = headers.host ?? '';
  return origin === `http://${host}` || origin === `https://${host}`;
}

export function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** What a caller's routes get: the checks and answers every page needs. */
export interface Web {
  authenticate(req: IncomingMessage): Auth;
  /** Answers a refused request: a browser GET goes to /login, everything else gets 401/403. */
  denied(req: IncomingMessage, res: ServerResponse, a: Extract<Auth, { ok: false }>): void;
  /** An error page, its message scrubbed of every secret. */
  fail(res: ServerResponse, status: number, message: string): void;
  readForm(req: IncomingMessage): Promise<URLSearchParams>;
  /** Runs `run` for a signed-in reader (with its CSRF token), else answers as `denied`. */
  guarded(req: IncomingMessage, res: ServerResponse, run: (ctx: { csrf: string; cookie: boolean }) => Promise<void>): Promise<void>;
}

export type Routes = (req: IncomingMessage, res: ServerResponse, path: string, params: URLSearchParams, web: Web) => Promise<boolean>;

/**
 * A request handler for the pages: `owns(path)` says which paths are pages (the rest falls
 * through to the caller's API, answer `false`); login, logout and assets are answered here,
 * everything else by `routes`, and whatever they throw becomes a scrubbed error page.
 */
export function webHandler(deps: WebDeps, owns: (path: string) => boolean, routes: Routes): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { sessions } = deps;
  const closed = `The page is closed: no read token is configured (${deps.readTokenSetting}).`;

  const authenticate = (req: IncomingMessage): Auth => {
    if (!sessions) return { ok: false, status: 403, message: closed, redirect: false };
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

  const fail = (res: ServerResponse, status: number, message: string): void => reply(res, status, errorPage(status, scrubDeep(message, deps.secrets)));

  const denied = (req: IncomingMessage, res: ServerResponse, a: Extract<Auth, { ok: false }>): void => {
    if (a.redirect && req.method === 'GET') return redirect(res, `/login?next=${encodeURIComponent(req.url ?? '/')}`);
    return reply(res, a.status, errorPage(a.status, a.message), a.status === 401 ? { 'www-authenticate': 'Bearer realm="driftd"' } : {});
  };

  const readForm = async (req: IncomingMessage): Promise<URLSearchParams> => {
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('application/x-www-form-urlencoded')) return new URLSearchParams();
    return new URLSearchParams((await readBody(req, FORM_MAX_BYTES)).toString('utf8'));
  };

  const web: Web = {
    authenticate,
    denied,
    fail,
    readForm,
    async guarded(req, res, run) {
      const a = authenticate(req);
      if (!a.ok) return denied(req, res, a);
      await run({ csrf: sessions?.csrf(a.identity) ?? '', cookie: a.cookie });
    },
  };

  const login = { closed: `no read token is configured on ${deps.where} (${deps.readTokenSetting})` };

  const common = async (req: IncomingMessage, res: ServerResponse, path: string, params: URLSearchParams): Promise<boolean> => {
    if (path === '/login') {
      if (req.method === 'GET') {
        reply(res, sessions ? 200 : 403, loginPage({ next: safeNext(params.get('next') ?? undefined), ...(sessions ? {} : login) }));
        return true;
      }
      if (req.method === 'POST') {
        if (!sessions) return (reply(res, 403, loginPage({ next: '/', ...login })), true);
        const form = await readForm(req);
        const next = safeNext(form.get('next') ?? undefined);
        const token = form.get('token') ?? '';
        if (!sameOrigin(req.headers) || token === '' || !deps.readMatches(token)) {
          deps.logger?.warn?.({ remote: req.socket.remoteAddress }, 'page: a sign-in with a wrong read token was refused');
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
    if (req.method === 'GET' && path === '/favicon.ico') {
      // No icon: an empty answer, so a browser's automatic request is not a 404 in its console.
      res.writeHead(204, { ...SECURITY_HEADERS, 'cache-control': 'max-age=86400' });
      res.end();
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
    return routes(req, res, path, params, web);
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://page.invalid');
    const path = url.pathname;
    if (!(path === '/login' || path === '/logout' || path === '/favicon.ico' || path.startsWith('/assets/') || owns(path))) return false;
    common(req, res, path, url.searchParams)
      .then((handled) => {
        if (!handled) fail(res, 404, 'Not found.');
      })
      .catch((e: unknown) => {
        if (res.headersSent) return void res.destroy();
        if (e instanceof BodyTooLarge) return fail(res, 413, `The form is over ${FORM_MAX_BYTES} bytes.`);
        deps.logger?.error({ err: describeError(e) }, 'page: a request failed');
        return fail(res, 500, `The page could not be built: ${describeError(e)}`);
      });
    return true;
  };
}
