/**
 * Host faults versus failures of a revision. Only a failure OF the revision (Compose refused or
 * failed it, the health gate, checks) may put it into `failed_revisions` and trigger a rollback;
 * a fault of the host (disk full, Docker down, the state DB) says nothing about the revision:
 * it is retried at the next run, and history states the real reason.
 */
import { describeError, errnoCode, isDriftdError } from '../errors/index.js';

const HOST_ERRNO: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
  EIO: 'an I/O error on the disk',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files on the system',
};

/** Compose's words for an engine that went away or a disk that filled up under it. */
const COMPOSE_HOST_OUTPUT: [RegExp, string][] = [
  [/no space left on device/i, 'the disk is full (Docker reported "no space left on device")'],
  [/cannot connect to the docker daemon|error during connect|is the docker daemon running|docker\.sock: connect: (no such file|connection refused)/i, 'Docker stopped answering'],
];

/**
 * The host-fault reason for `e`, or undefined when `e` is a failure of the revision.
 * `dockerAnswers` is asked only for a Compose failure that does not say why (Compose killed by
 * an engine that died mid-run often prints only "EOF" or a context error).
 */
export async function hostFaultOf(e: unknown, dockerAnswers: () => Promise<boolean>): Promise<string | undefined> {
  if (isDriftdError(e)) {
    switch (e.code) {
      case 'StateError':
      case 'DockerUnreachable':
      case 'DockerApiError':
      case 'FileSystemError':
      case 'LockBusy':
        return describeError(e);
      case 'ComposeFailed': {
        const stderr = e.data.stderr;
        const said = typeof stderr === 'string' ? COMPOSE_HOST_OUTPUT.find(([re]) => re.test(stderr)) : undefined;
        if (said) return `${describeError(e)}: ${said[1]}`;
        if (!(await dockerAnswers())) return `${describeError(e)}: Docker stopped answering during the run`;
        return undefined;
      }
      default:
        return undefined;
    }
  }
  const code = errnoCode(e);
  if (typeof code === 'string' && HOST_ERRNO[code]) return `${describeError(e)} (${HOST_ERRNO[code]})`;
  return undefined;
}
