/** Issue 13, findings 4 and 5: host faults are told apart from failures of a revision, and name the path. */
import { describe, expect, it } from 'vitest';
import { DriftdError } from '../../../src/errors/index.js';
import { hostFaultOf } from '../../../src/sync/host-fault.js';
import { fileSystemError } from '../../../src/util/fs-errors.js';

const errno = (code: string, message = `${code}: failed, write`) => Object.assign(new Error(message), { code });
const compose = (stderr: string) => new DriftdError('ComposeFailed', 'compose up failed for stack web (exit code 1: x)', { action: 'up', project: 'web', code: 1, timedOut: false, stderr });
const up = () => Promise.resolve(true);
const down = () => Promise.resolve(false);

describe('hostFaultOf', () => {
  it.each([
    ['a state DB error', new DriftdError('StateError', 'state database /d/state.db cannot grow: the disk is full')],
    ['Docker unreachable', new DriftdError('DockerUnreachable', 'cannot reach Docker at unix:///x.sock', { address: 'unix:///x.sock' })],
    ['a full disk in the data dir', new DriftdError('FileSystemError', 'cannot write /d/deploy/web/driftd.compose.yaml: the disk is full', { path: '/d/deploy/web/driftd.compose.yaml', code: 'ENOSPC', reason: 'the disk is full' })],
    ['a bare ENOSPC', errno('ENOSPC')],
    ['an I/O error', errno('EIO')],
  ])('%s is a host fault', async (_name, e) => {
    expect(await hostFaultOf(e, up)).toBeDefined();
  });

  it('a Compose failure that says the disk is full, or that Docker went away, is a host fault', async () => {
    expect(await hostFaultOf(compose('failed to register layer: write /var/lib/docker/x: no space left on device'), up)).toMatch(/the disk is full/);
    expect(await hostFaultOf(compose('Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?'), up)).toMatch(/Docker stopped answering/);
  });

  it('a Compose failure that does not say why is a host fault only when Docker no longer answers', async () => {
    expect(await hostFaultOf(compose('EOF'), down)).toMatch(/Docker stopped answering during the run/);
    expect(await hostFaultOf(compose('EOF'), up)).toBeUndefined();
  });

  it('a failure of the revision is not', async () => {
    expect(await hostFaultOf(compose('service "web" refers to undefined volume data'), up)).toBeUndefined();
    expect(await hostFaultOf(new DriftdError('SchemaError', 'bad', { reason: 'bad' }), down)).toBeUndefined();
    expect(await hostFaultOf(new Error('boom'), up)).toBeUndefined();
  });
});

describe('fileSystemError', () => {
  it('names the path and says the disk is full', () => {
    const e = fileSystemError('/data/git/last-good.json', 'write', errno('ENOSPC', 'ENOSPC: no space left on device, write')) as DriftdError;
    expect(e.code).toBe('FileSystemError');
    expect(e.message).toBe('cannot write /data/git/last-good.json: the disk is full (ENOSPC); free disk space on that file system');
    expect(e.data).toMatchObject({ path: '/data/git/last-good.json', reason: 'disk-full' });
  });

  it('passes other errors through', () => {
    const e = new Error('x');
    expect(fileSystemError('/f', 'write', e)).toBe(e);
  });
});
