import { registerSecrets } from '../util/scrub.js';
import type { HttpConfig } from '../config/resolve.js';
import type { SecretSetting } from '../config/secret-setting.js';
import { DriftdError } from '../errors/index.js';
import { isLoopback, parseListen } from '../util/listen.js';

export { isLoopback, parseListen } from '../util/listen.js';

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
  registerSecrets([readToken, webhookSecret, writeToken]);
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
