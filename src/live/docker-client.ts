import type { ResolvedConfig } from '../config/resolve.js';
import { DriftdError } from '../errors/index.js';
import type { EngineApi } from './engine-api.js';
import { EngineClient } from './engine-client.js';
import { engineEndpointFor } from './engine-endpoint.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

export interface DockerConnection {
  docker: EngineApi;
  /** The DOCKER_HOST-style address, for messages. */
  address: string;
}

/** An engine client for `config.dockerHost` (DOCKER_HOST or docker.host), else the local socket. */
export function createDockerClient(
  config: Pick<ResolvedConfig, 'dockerHost'>,
  env: NodeJS.ProcessEnv = process.env,
): DockerConnection {
  const address = config.dockerHost ?? DEFAULT_DOCKER_HOST;
  return { docker: new EngineClient(engineEndpointFor(address, env), address), address };
}

function reasonOf(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === 'AbortError' || e.name === 'TimeoutError') return 'no answer in time';
    return e.message.split('\n')[0] ?? e.message;
  }
  return String(e);
}

/** Resolves when the engine answers /_ping; any failure becomes DockerUnreachable. */
export async function pingDocker(docker: Pick<EngineApi, 'ping'>, address: string, timeoutMs = 5000): Promise<void> {
  try {
    await docker.ping({ abortSignal: AbortSignal.timeout(timeoutMs) });
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
