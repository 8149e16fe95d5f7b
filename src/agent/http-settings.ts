import { isIP } from 'node:net';
import type { HttpConfig } from '../config/resolve.js';
import type { SecretSetting } from '../config/secret-setting.js';
import { DriftdError } from '../errors/index.js';

/** What the agent's HTTP server runs with, after every startup check has passed. */
export interface HttpSettings {
  listen: string;
  host: string;
  port: number;
  readToken?: string;
  webhookSecret?: string;
  writeToken?: string;
  /** GET /metrics answers without a token. */
  metricsOpen?: boolean;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new DriftdError('ConfigError', `http.listen "${listen}" must be host:port, e.g. 127.0.0.1:9797`, { key: 'http.listen' });
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

/**
 * Only an address that cannot be reached from another machine counts as loopback: 127.0.0.0/8,
 * ::1 (also as ::ffff:127.x) and the name `localhost`. Any other name may resolve anywhere, so
 * it is treated as public.
 */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const h = host.toLowerCase();
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(h) || /^::ffff:127\./.test(h);
  return false;
}

function value(setting: SecretSetting | undefined): string | undefined {
  if (setting?.problem !== undefined) {
    throw new DriftdError('ConfigError', `the agent cannot start: ${setting.problem}`, { key: setting.key });
  }
  return setting?.value;
}

/**
 * The checks `driftd agent` makes before it touches anything (docs/design.md §10): every configured
 * secret must be there and non-empty, and a non-loopback address needs both a read token and
 * a webhook secret. Undefined when no `http.listen` is configured.
 */
export function httpSettings(http: HttpConfig): HttpSettings | undefined {
  const readToken = value(http.readToken);
  const webhookSecret = value(http.webhookSecret);
  const writeToken = value(http.writeToken);
  if (http.listen === undefined) return undefined;
  const { host, port } = parseListen(http.listen);
  if (!isLoopback(host) && (readToken === undefined || webhookSecret === undefined)) {
    throw new DriftdError(
      'ConfigError',
      `the agent cannot start: http.listen ${http.listen} is not a loopback address, so it needs both a read token (http.readTokenEnv or http.readTokenFile) and a webhook secret (http.webhookSecretEnv or http.webhookSecretFile)`,
      { key: 'http.listen' },
    );
  }
  return {
    listen: http.listen,
    host,
    port,
    ...(readToken !== undefined ? { readToken } : {}),
    ...(webhookSecret !== undefined ? { webhookSecret } : {}),
    ...(writeToken !== undefined ? { writeToken } : {}),
    ...(http.metricsOpen ? { metricsOpen: true } : {}),
  };
}
