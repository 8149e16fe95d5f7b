/**
 * Maps what isomorphic-git and the network throw to driftd's typed errors, one sentence each.
 * Pure, so every mapping is unit-tested with synthetic errors.
 */
import { DriftdError, isDriftdError } from '../errors/index.js';

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name not found (DNS)',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
  ECONNABORTED: 'connection aborted',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host name',
};

export interface GitErrorContext {
  /** The repo as shown to people (never with credentials). */
  repo: string;
  /** Whether credentials were configured: decides between "refused" and "required". */
  authConfigured: boolean;
  /** What failed: listing refs (the default) or fetching the pack after the refs were listed. */
  phase?: 'refs' | 'fetch';
}

interface ErrorShape {
  code?: unknown;
  message?: unknown;
  data?: { statusCode?: unknown };
}

function unreachable(ctx: GitErrorContext, reason: string, cause: unknown): DriftdError {
  return new DriftdError(
    'GitUnreachable',
    `cannot reach the Git server for ${ctx.repo} (${reason}); driftd keeps the last good revision and retries, check the URL and the network`,
    { repo: ctx.repo, reason },
    { cause },
  );
}

function authRefused(ctx: GitErrorContext, status: number | undefined, cause: unknown): DriftdError {
  const http = status ? ` (HTTP ${status})` : '';
  const message = ctx.authConfigured
    ? `the Git server refused the configured credentials for ${ctx.repo}${http}; check the token or password (git.tokenEnv, git.tokenFile, DRIFTD_GIT_TOKEN)`
    : `the Git server requires credentials for ${ctx.repo}${http}; configure a token (DRIFTD_GIT_TOKEN, git.tokenEnv or git.tokenFile)`;
  return new DriftdError('GitAuthRefused', message, { repo: ctx.repo, ...(status ? { status } : {}) }, { cause });
}

/** Any error from a remote Git operation → a DriftdError. DriftdErrors pass through unchanged. */
export function toGitError(err: unknown, ctx: GitErrorContext): DriftdError {
  if (isDriftdError(err)) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorShape;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);

  if (code === 'UserCanceledError') return authRefused(ctx, 401, err);
  if (code === 'HttpError') {
    const status = typeof e.data?.statusCode === 'number' ? e.data.statusCode : undefined;
    if (status === 401 || status === 403) return authRefused(ctx, status, err);
    if (status === 404) {
      return new DriftdError('RepoNotFound', `repository ${ctx.repo} not found (HTTP 404); check the repo URL (--repo, DRIFTD_REPO)`, { repo: ctx.repo }, { cause: err });
    }
    return unreachable(ctx, `HTTP ${status ?? 'error'}`, err);
  }
  if (ctx.phase === 'fetch' && (code === 'ParseError' || code === 'EmptyServerResponseError' || code === 'InternalError' || /pack|pkt-line|checksum|inflate|zlib|unexpected end/i.test(message))) {
    // The refs were listed by this same server a moment ago: a reply that stops or garbles mid-pack
    // is a transfer problem (a proxy, a dropped link, a server dying mid-answer), not a wrong URL.
    return new DriftdError(
      'GitUnreachable',
      `the pack the Git server sent for ${ctx.repo} was incomplete or corrupt (${message}); driftd keeps the last good revision and retries`,
      { repo: ctx.repo, reason: 'incomplete-pack' },
      { cause: err },
    );
  }
  if (code === 'SmartHttpError' || code === 'ParseError' || code === 'EmptyServerResponseError') {
    return new DriftdError(
      'RepoNotFound',
      `${ctx.repo} did not answer as a Git repository over smart HTTP; check the repo URL (--repo, DRIFTD_REPO)`,
      { repo: ctx.repo },
      { cause: err },
    );
  }
  if (code === 'UrlParseError' || code === 'UnknownTransportError') {
    return new DriftdError('ConfigError', `cannot use repo URL ${ctx.repo}: only http:// and https:// URLs and local paths are supported`, { repo: ctx.repo }, { cause: err });
  }
  if (code && NETWORK_CODES[code]) return unreachable(ctx, NETWORK_CODES[code], err);
  return unreachable(ctx, message, err);
}

/**
 * The URL as people and state keys see it: no user name or password, no query string and no
 * fragment (`?token=…`, `?access_token=…` and the like carry credentials; a Git repo URL needs
 * neither). Text that is not a URL loses a `user[:password]@` prefix and anything after `?`/`#`.
 */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    // `user:pw@host:path` parses as scheme `user:` with an opaque path: not a URL with a host.
    if (u.host === '') throw new TypeError('no host');
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/[?#][\s\S]*$/, '').replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@\s]*@/i, '$1');
  }
}
