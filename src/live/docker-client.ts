import { readFileSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import type { DockerOptions } from 'dockerode';
import type { ResolvedConfig } from '../config/resolve.js';
import { DriftdError } from '../errors/index.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

export interface DockerConnection {
  docker: Docker;
  /** The DOCKER_HOST-style address, for messages. */
  address: string;
}

function invalidHost(address: string, reason: string): DriftdError {
  return new DriftdError(
    'ConfigError',
    `invalid Docker host "${address}": ${reason}; use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host`,
    { key: 'docker.host', address },
  );
}

function tlsFiles(env: NodeJS.ProcessEnv): Pick<DockerOptions, 'ca' | 'cert' | 'key'> {
  const dir = env.DOCKER_CERT_PATH;
  if (!dir) return {};
  try {
    return {
      ca: readFileSync(path.join(dir, 'ca.pem')),
      cert: readFileSync(path.join(dir, 'cert.pem')),
      key: readFileSync(path.join(dir, 'key.pem')),
    };
  } catch (e) {
    throw new DriftdError('ConfigError', `cannot read the Docker TLS files in DOCKER_CERT_PATH=${dir}: ${(e as Error).message}`, {
      key: 'DOCKER_CERT_PATH',
    });
  }
}

/**
 * DOCKER_HOST syntax → dockerode options. Every connection field is set explicitly because
 * docker-modem otherwise merges in its own reading of process.env.DOCKER_HOST.
 */
export function dockerOptionsFor(address: string, env: NodeJS.ProcessEnv = process.env): DockerOptions {
  const unset = { socketPath: undefined, host: undefined, port: undefined, protocol: undefined, username: undefined };
  if (address.startsWith('unix://')) {
    const socketPath = address.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw invalidHost(address, 'the socket path must be absolute');
    return { ...unset, socketPath };
  }
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw invalidHost(address, 'not a URL');
  }
  if (!url.hostname) throw invalidHost(address, 'no host name');
  switch (url.protocol) {
    case 'ssh:':
      return { ...unset, protocol: 'ssh', host: url.hostname, port: url.port || 22, username: decodeURIComponent(url.username) || undefined };
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const tls = url.protocol === 'https:' || env.DOCKER_TLS_VERIFY === '1' || url.port === '2376';
      return {
        ...unset,
        protocol: tls ? 'https' : 'http',
        host: url.hostname,
        port: url.port || (tls ? 2376 : 2375),
        ...(tls ? tlsFiles(env) : {}),
      };
    }
    default:
      throw invalidHost(address, `unsupported scheme "${url.protocol}"`);
  }
}

/** A dockerode client for `config.dockerHost` (DOCKER_HOST or docker.host), else the local socket. */
export function createDockerClient(
  config: Pick<ResolvedConfig, 'dockerHost'>,
  env: NodeJS.ProcessEnv = process.env,
): DockerConnection {
  const address = config.dockerHost ?? DEFAULT_DOCKER_HOST;
  return { docker: new Docker(dockerOptionsFor(address, env)), address };
}

function reasonOf(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === 'AbortError' || e.name === 'TimeoutError') return 'no answer in time';
    return e.message.split('\n')[0] ?? e.message;
  }
  return String(e);
}

// dockerode's ping accepts an abortSignal; @types/dockerode does not declare it.
type PingWithSignal = (opts: { abortSignal: AbortSignal }) => Promise<unknown>;

/** Resolves when the engine answers /_ping; any failure becomes DockerUnreachable. */
export async function pingDocker(docker: Docker, address: string, timeoutMs = 5000): Promise<void> {
  const ping = docker.ping.bind(docker) as unknown as PingWithSignal;
  try {
    await ping({ abortSignal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const reason = reasonOf(e);
    throw new DriftdError(
      'DockerUnreachable',
      `cannot reach Docker at ${address}: ${reason}; start Docker or set DOCKER_HOST`,
      { address, reason },
      { cause: e },
    );
  }
}
