/**
 * ssh:// engines the way the docker CLI reaches them: each connection is an `ssh … docker system
 * dial-stdio` process whose stdin/stdout carry the HTTP bytes. The system ssh brings the
 * operator's keys, agent, known_hosts and ~/.ssh/config with it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import http from 'node:http';
import { Duplex } from 'node:stream';
import type { EngineEndpoint } from './engine-endpoint.js';

type SshEndpoint = Extract<EngineEndpoint, { transport: 'ssh' }>;

/** The `code` of a connection whose command failed: toDockerError reports it as an unreachable engine. */
export const SSH_FAILED = 'ESSHDIAL';

/** ssh runs the remote command through the remote user's shell, so arguments from the URL are quoted. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The ssh argv (without "ssh"), as the docker CLI builds it: options, then `--`, the host and the remote command. */
export function sshDialArgs(endpoint: SshEndpoint): string[] {
  const remote = ['docker', ...(endpoint.socketPath ? [`--host=unix://${endpoint.socketPath}`] : []), 'system', 'dial-stdio'];
  return [
    ...(endpoint.user ? ['-l', endpoint.user] : []),
    ...(endpoint.port !== undefined ? ['-p', String(endpoint.port)] : []),
    // As the docker CLI: give up on an unreachable host in 30 s, and no pseudo-terminal (no login shell noise in the stream).
    '-o',
    'ConnectTimeout=30',
    '-T',
    '--',
    endpoint.host,
    ...remote.map(shellQuote),
  ];
}

const STDERR_KEPT = 2000;

interface Refable {
  ref?(): unknown;
  unref?(): unknown;
}

/**
 * A child process's stdio as the socket of one HTTP connection. Implements the part of
 * net.Socket that http.Agent and ClientRequest call on a connection they did not create.
 */
export class CommandSocket extends Duplex {
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';
  private writeError: Error | undefined;

  constructor(
    private readonly command: string,
    args: readonly string[],
  ) {
    super();
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) this.child.stdout.pause();
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_KEPT);
    });
    // A write fails (EPIPE) when the command is exiting; its exit status and stderr, known at
    // 'close', say why. Likewise 'close' rather than stdout's 'end': a failed ssh surfaces as
    // its own message instead of a bare "socket hang up".
    this.child.stdin.on('error', (e) => (this.writeError ??= e));
    this.child.on('error', (e) => this.destroy(e));
    this.child.on('close', (code, signal) => {
      if (code === 0 && this.writeError === undefined) this.push(null);
      else if (!this.destroyed) this.destroy(code === 0 ? this.writeError : this.failure(code, signal));
    });
  }

  private failure(code: number | null, signal: NodeJS.Signals | null): Error {
    const status = code !== null ? `exited with status ${code}` : `was killed by ${signal ?? 'a signal'}`;
    const said = this.stderr.trim().split('\n').filter(Boolean).at(-1);
    return Object.assign(new Error(`${this.command} ${status}${said ? `: ${said}` : ''}`), { code: SSH_FAILED });
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.child.stdin.write(chunk, () => done());
  }

  override _final(done: (error?: Error | null) => void): void {
    this.child.stdin.end(done);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
    done(error);
  }

  private each(action: 'ref' | 'unref'): this {
    for (const handle of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as Refable[]) handle[action]?.();
    return this;
  }

  /** An idle connection in the agent's pool is unref'd so that it never keeps the process alive. */
  ref(): this {
    return this.each('ref');
  }

  unref(): this {
    return this.each('unref');
  }

  setKeepAlive(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  /** Only ever called to clear a timeout: neither our agents nor our requests set one. */
  setTimeout(): this {
    return this;
  }
}

/** A keep-alive agent whose connections are ssh processes. */
export class SshAgent extends http.Agent {
  constructor(
    private readonly args: readonly string[],
    options: http.AgentOptions,
  ) {
    super(options);
  }

  override createConnection(): Duplex {
    return new CommandSocket('ssh', this.args);
  }
}
