/**
 * The status page's routes (docs/status-page.md): GET /, /stacks/<name>, /history behind the
 * read token (Bearer or the login cookie), GET+POST /login, POST /logout, POST /approve/<name>
 * (read session + write token + CSRF), and the two static assets. Every answer carries the
 * security headers; authenticated pages are never cached.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { isDriftdError } from '../errors/index.js';
import type { HistoryFilter, PageSource } from './model.js';
import { historyPage, overviewPage, stackPage } from './views.js';
import { decodeSegment, redirect, reply, sameOrigin, webHandler, type Routes, type Web, type WebDeps } from './web.js';

export interface PageDeps extends Omit<WebDeps, 'readTokenSetting' | 'where'> {
  source: PageSource;
  /** False when no write token is configured. */
  writeMatches(given: string): boolean;
}

export type { PageLogger } from './web.js';
export { safeNext, SECURITY_HEADERS } from './web.js';

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

const OWNS = (path: string): boolean => path === '/' || path === '/history' || path.startsWith('/stacks/') || path.startsWith('/approve/');

export function pageHandler(deps: PageDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { source, sessions } = deps;

  const routes: Routes = async (req, res, path, params, web) => {
    if (req.method === 'GET' && path === '/') {
      await web.guarded(req, res, async (ctx) => reply(res, 200, overviewPage(await source.overview(), ctx)));
      return true;
    }
    if (req.method === 'GET' && path === '/history') {
      await web.guarded(req, res, async (ctx) => reply(res, 200, historyPage(await source.history(parseHistoryFilter(params)), ctx)));
      return true;
    }
    const stackMatch = /^\/stacks\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && stackMatch?.[1] !== undefined) {
      const name = decodeSegment(stackMatch[1]);
      await web.guarded(req, res, async (ctx) => {
        const m = name === undefined ? undefined : await source.stack(name);
        if (!m) return web.fail(res, 404, 'No such stack on this host.');
        const approved = params.get('approved');
        return reply(res, 200, stackPage(m, ctx, approved && /^[0-9a-f]{12}$/.test(approved) ? `Approved ${approved}; the agent applies it on its next reconcile (queued now).` : undefined));
      });
      return true;
    }
    const approveMatch = /^\/approve\/([^/]+)$/.exec(path);
    if (req.method === 'POST' && approveMatch?.[1] !== undefined) {
      await approve(req, res, decodeSegment(approveMatch[1]), web);
      return true;
    }
    return false;
  };

  /** Read session, same origin, CSRF, write token, then the approval itself: each refusal says which. */
  const approve = async (req: IncomingMessage, res: ServerResponse, stack: string | undefined, web: Web): Promise<void> => {
    const a = web.authenticate(req);
    if (!a.ok) return web.denied(req, res, a);
    const form = await web.readForm(req);
    if (!sameOrigin(req.headers) || !sessions?.csrfValid(a.identity, form.get('csrf') ?? undefined)) {
      return web.fail(res, 403, 'Approval refused: the CSRF token is missing or does not match. Reload the stack page and try again.');
    }
    const write = form.get('writeToken') ?? '';
    if (write === '' || !deps.writeMatches(write)) {
      deps.logger?.warn?.({ stack, remote: req.socket.remoteAddress }, 'status page: an approval without the right write token was refused');
      return web.fail(res, 403, 'Approval refused: the write token is missing, wrong, or no write token is configured (http.writeTokenEnv or http.writeTokenFile).');
    }
    if (stack === undefined) return web.fail(res, 404, 'No such stack on this host.');
    const revision = form.get('revision') ?? undefined;
    try {
      const r = await source.approve(stack, revision, a.cookie ? 'status page (session)' : 'status page (bearer)');
      deps.logger?.info?.({ stack, revision: r.revision }, 'status page: revision approved');
      return redirect(res, `/stacks/${encodeURIComponent(stack)}?approved=${r.revision.slice(0, 12)}`);
    } catch (e) {
      if (isDriftdError(e) && (e.code === 'NotFound' || e.code === 'InvalidRef' || e.code === 'InvalidStackName')) return web.fail(res, 409, e.message);
      throw e;
    }
  };

  return webHandler({ ...deps, readTokenSetting: 'http.readTokenEnv or http.readTokenFile', where: 'this agent' }, OWNS, routes);
}
