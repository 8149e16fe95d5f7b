/**
 * `driftd hub` (docs/hub.md): opens the hub database, reads the agent tokens and the read
 * token, and serves the fleet until stopped. Every refusal to start comes before anything is
 * opened or listened on.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { ResolvedConfig } from '../config/resolve.js';
import { DriftdError } from '../errors/index.js';
import { startHubServer, type HubLimits } from './server.js';
import { openHubStore, refuseUnsupportedDatabase } from './store.js';
import { agentTokens, readAgentTokens } from './tokens.js';
import { isLoopback, parseListen } from '../util/listen.js';
import type { Logger } from '../util/logger.js';
import { registerSecrets } from '../util/scrub.js';

export interface HubOptions {
  config: ResolvedConfig;
  logger: Logger;
  /** Override `hubServer.listen` / `hubServer.database` (flags). */
  listen?: string;
  database?: string;
  limits?: HubLimits;
}

export interface HubHandle {
  server: Server;
  /** The address it listens on (`host:port`, the real port when 0 was asked for). */
  address: string;
  stop(): Promise<void>;
}

export async function startHub(opts: HubOptions): Promise<HubHandle> {
  const settings = opts.config.hubServer;
  const listen = opts.listen ?? settings.listen;
  const { host, port } = parseListen(listen, 'hubServer.listen');
  refuseUnsupportedDatabase(opts.database ?? settings.database);
  if (settings.readToken?.problem !== undefined) throw new DriftdError('ConfigError', `the hub cannot start: ${settings.readToken.problem}`, { key: settings.readToken.key });
  const readToken = settings.readToken?.value;
  if (!isLoopback(host) && readToken === undefined) {
    throw new DriftdError('ConfigError', `the hub cannot start: ${listen} is not a loopback address, so it needs a read token (hubServer.readTokenEnv or hubServer.readTokenFile)`, { key: 'hubServer.listen' });
  }
  const tls = settings.tls ? readTls(settings.tls) : undefined;
  const tokens = agentTokens(settings.agentTokensFile ? readAgentTokens(settings.agentTokensFile) : new Map());
  registerSecrets([readToken, ...tokens.values]);
  if (tokens.hosts.length === 0) opts.logger.warn('hub: no agent tokens (hubServer.agentTokensFile): no agent can report until there are');
  const store = openHubStore(opts.database ?? settings.database, { historyPerHost: settings.historyPerHost });
  let server: Server;
  try {
    server = await startHubServer(
      {
        store,
        tokens,
        ...(readToken !== undefined ? { readToken } : {}),
        silentAfterMs: settings.silentAfterMs,
        stragglerGraceMs: settings.stragglerGraceMs,
        logger: opts.logger,
        ...(opts.limits ? { limits: opts.limits } : {}),
      },
      { host, port },
      tls,
    );
  } catch (e) {
    store.close();
    throw e;
  }
  const a = server.address();
  const address = a && typeof a === 'object' ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : listen;
  opts.logger.info({ listen: address, tls: tls !== undefined, hosts: tokens.hosts.length, database: opts.database ?? settings.database }, 'driftd hub started');
  return {
    server,
    address,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          store.close();
          opts.logger.info('driftd hub stopped');
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/** `hubServer.tls`'s files, read before anything is opened: a missing or unreadable file refuses the start. */
function readTls(files: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  const read = (file: string, key: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new DriftdError('ConfigError', `the hub cannot start: ${key} ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { key });
    }
  };
  return { cert: read(files.certFile, 'hubServer.tls.certFile'), key: read(files.keyFile, 'hubServer.tls.keyFile') };
}
