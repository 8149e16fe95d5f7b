/**
 * Typed error payloads: the data of each code is checked where an error is made (the
 * `@ts-expect-error` lines fail `npm run typecheck` if a wrong payload compiles) and typed where
 * it is read, by checking `code` — no casts at the callers.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { DriftdError, isDriftdError, loadError, withLastKnown, type ErrorDataMap, type StateErrorReason } from '../../../src/errors/index.js';

describe('DriftdError payloads', () => {
  it('are checked against the code when made', () => {
    // @ts-expect-error ComposeFailed carries project, code, timedOut and stderr
    void new DriftdError('ComposeFailed', 'compose up failed', { action: 'up' });
    // @ts-expect-error DockerUnreachable names the address
    void new DriftdError('DockerUnreachable', 'cannot reach Docker');
    // @ts-expect-error a StateError reason is one of the known ones
    void new DriftdError('StateError', 'bad', { reason: 'gone' });
    // @ts-expect-error not a code
    void new DriftdError('Oops', 'x');
    const usage = new DriftdError('UsageError', '--limit must be a positive whole number');
    expect(usage.data).toEqual({});
    expect(usage.exitCode).toBe(1);
  });

  it('are typed when read by code', () => {
    const thrown: unknown = new DriftdError('StateError', 'state database is empty', { file: '/d/state.db', reason: 'empty' });
    expect(isDriftdError(thrown) && thrown.code === 'StateError' && thrown.data.reason).toBe('empty');
    if (isDriftdError(thrown) && thrown.code === 'StateError') expectTypeOf(thrown.data.reason).toEqualTypeOf<StateErrorReason | undefined>();
    const compose: unknown = new DriftdError('ComposeFailed', 'compose pull failed', { action: 'pull', project: 'web', code: 1, timedOut: false, stderr: '' });
    if (isDriftdError(compose) && compose.code === 'ComposeFailed') expectTypeOf(compose.data).toEqualTypeOf<ErrorDataMap['ComposeFailed']>();
    expect(isDriftdError(compose) && compose.code === 'ComposeFailed' && compose.data.action).toBe('pull');
  });

  it('a load error keeps the code it was thrown with; a source failure keeps its data and adds the last known revision', () => {
    const e = loadError('UnsafePath', 'stacks/s/x: a link', { file: 'stacks/s/x', reason: 'a link', stack: 's' });
    expect(e).toMatchObject({ code: 'UnsafePath', name: 'UnsafePath', data: { file: 'stacks/s/x', reason: 'a link', stack: 's' } });
    const unreachable = new DriftdError('GitUnreachable', 'cannot reach the repo', { repo: 'http://git.test/r', reason: 'refused' });
    const again = withLastKnown(unreachable, 'cannot reach the repo; last known revision v1 abc', { commit: 'abc', ref: 'v1' });
    expect(again).toMatchObject({ code: 'GitUnreachable', message: 'cannot reach the repo; last known revision v1 abc', data: { repo: 'http://git.test/r', reason: 'refused', lastKnown: { commit: 'abc', ref: 'v1' } } });
    expect(again.cause).toBe(unreachable);
    expect(withLastKnown(unreachable, 'm', undefined).data).toEqual({ repo: 'http://git.test/r', reason: 'refused' });
  });
});
