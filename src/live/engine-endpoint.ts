/**
 * DOCKER_HOST syntax → where and how the engine client connects: unix:///path, tcp://host:port
 * (TLS when DOCKER_TLS_VERIFY=1 or port 2376, with the files in DOCKER_CERT_PATH), http(s)://
 * and ssh://[user@]host[:port][/socket] (through `docker system dial-stdio` on the host).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DriftdError, describeError } from '../errors/index.js';

export interface TlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export type EngineEndpoint =
  | { transport: 'unix'; socketPath: string }
  | { transport: 'http'; host: string; port: number }
  | { transport: 'https'; host: string; port: number; tls: TlsFiles }
  /** `port` and `user` unset leave them to the ssh config; `socketPath` unset uses the remote docker's default. */
  | { transport: 'ssh'; host: string; port?: number; user?: string; socketPath?: string };

function invalidHost(address: string, reason: string): DriftdError {
  return new DriftdError(
    'ConfigError',
    `invalid Docker host "${address}": ${reason}; use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host`,
    { key: 'docker.host', address },
  );
}

function tlsFiles(env: NodeJS.ProcessEnv): TlsFiles {
  const dir = env.DOCKER_CERT_PATH;
  if (!dir) return {};
  try {
    return {
      ca: readFileSync(path.join(dir, 'ca.pem')),
      cert: readFileSync(path.join(dir, 'cert.pem')),
      key: readFileSync(path.join(dir, 'key.pem')),
    };
  } catch (e) {
    throw new DriftdError('ConfigError', `cannot read the Docker TLS files in DOCKER_CERT_PATH=${dir}: ${describeError(e)}`, {
      key: 'DOCKER_CERT_PATH',
    });
  }
}

function sshEndpoint(address: string, url: URL, host: string): EngineEndpoint {
  if (url.password) throw invalidHost(address, 'a password in the URL is not supported (use an SSH key or agent)');
  if (url.search || url.hash) throw invalidHost(address, 'query parameters and fragments are not allowed');
  const user = decodeURIComponent(url.username);
  const socketPath = decodeURIComponent(url.pathname);
  return {
    transport: 'ssh',
    host,
    ...(url.port ? { port: Number(url.port) } : {}),
    ...(user ? { user } : {}),
    ...(socketPath.replace(/\/+/g, '') ? { socketPath } : {}),
  };
}

export function engineEndpointFor(address: string, env: NodeJS.ProcessEnv = process.env): EngineEndpoint {
  if (address.startsWith('unix://')) {
    const socketPath = address.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw invalidHost(address, 'the socket path must be absolute');
    return { transport: 'unix', socketPath };
  }
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw invalidHost(address, 'not a URL');
  }
  // URL keeps the brackets of an IPv6 literal; sockets and ssh want the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw invalidHost(address, 'no host name');
  switch (url.protocol) {
    case 'ssh:':
      return sshEndpoint(address, url, host);
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const tls = url.protocol === 'https:' || env.DOCKER_TLS_VERIFY === '1' || url.port === '2376';
      const port = Number(url.port || (tls ? 2376 : 2375));
      return tls ? { transport: 'https', host, port, tls: tlsFiles(env) } : { transport: 'http', host, port };
    }
    default:
      throw invalidHost(address, `unsupported scheme "${url.protocol}"`);
  }
}
