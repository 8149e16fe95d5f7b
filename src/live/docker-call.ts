/**
 * One Docker API call at the boundary: transport failures become `DockerUnreachable`, HTTP
 * errors and responses that do not match the schema become `DockerApiError`, both with one
 * sentence that says what to do next.
 */
import type { z } from 'zod';
import { DriftdError, isDriftdError } from '../errors/index.js';
import { SSH_FAILED } from './engine-ssh.js';

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'EPERM', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', SSH_FAILED]);

interface ModemLike {
  socketPath?: unknown;
  host?: unknown;
  port?: unknown;
  protocol?: unknown;
}

/**
 * Where the client talks to, for error messages: our EngineClient's address, else (a Dockerode
 * instance, as in tests) read from its modem: the socket path or protocol://host:port.
 */
export function dockerAddress(docker: { address?: unknown; modem?: unknown }): string {
  if (typeof docker.address === 'string') return docker.address;
  const m = (docker.modem ?? {}) as ModemLike;
  if (typeof m.socketPath === 'string' && m.socketPath !== '') return `unix://${m.socketPath}`;
  if (typeof m.host === 'string' && m.host !== '') {
    const protocol = typeof m.protocol === 'string' ? m.protocol : 'http';
    const port = typeof m.port === 'string' || typeof m.port === 'number' ? `:${m.port}` : '';
    return `${protocol}://${m.host}${port}`;
  }
  return process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

function errorField(err: unknown, field: 'code' | 'statusCode' | 'message'): unknown {
  return err !== null && typeof err === 'object' ? (err as Record<string, unknown>)[field] : undefined;
}

export function httpStatusOf(err: unknown): number | undefined {
  const status = errorField(err, 'statusCode');
  return typeof status === 'number' ? status : undefined;
}

/** The error's message on one line: for an HTTP error of the engine, the engine's own words. */
export function dockerErrorReason(err: unknown): string {
  const message = errorField(err, 'message');
  const text = typeof message === 'string' ? message : String(err);
  return text.replace(/\s+/g, ' ').trim();
}

export function toDockerError(err: unknown, what: string, address: string): DriftdError {
  if (isDriftdError(err)) return err;
  const code = errorField(err, 'code');
  if (httpStatusOf(err) === undefined && typeof code === 'string' && CONNECTION_CODES.has(code)) {
    return new DriftdError(
      'DockerUnreachable',
      `cannot reach Docker at ${address}: ${dockerErrorReason(err)}; start Docker or set DOCKER_HOST`,
      { address, operation: what },
      { cause: err },
    );
  }
  return new DriftdError(
    'DockerApiError',
    `Docker API call "${what}" at ${address} failed: ${dockerErrorReason(err)}; check the engine's logs and retry`,
    { address, operation: what, status: httpStatusOf(err) },
    { cause: err },
  );
}

/** Validates a response; names the first offending field so that an incompatible engine is easy to spot. */
export function parseDockerResponse<S extends z.ZodType>(schema: S, value: unknown, what: string, address: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
  throw new DriftdError(
    'DockerApiError',
    `unexpected response from Docker at ${address} for "${what}": ${where}: ${issue?.message ?? 'invalid'}; this engine version may be unsupported`,
    { address, operation: what, path: where },
  );
}

/** Runs a call; `undefined` when the object is gone (404) and `allowMissing` is set. */
export async function callDocker<T>(
  what: string,
  address: string,
  call: () => Promise<T>,
  allowMissing: true,
): Promise<T | undefined>;
export async function callDocker<T>(what: string, address: string, call: () => Promise<T>): Promise<T>;
export async function callDocker<T>(what: string, address: string, call: () => Promise<T>, allowMissing = false): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (allowMissing && httpStatusOf(err) === 404) return undefined;
    throw toDockerError(err, what, address);
  }
}
