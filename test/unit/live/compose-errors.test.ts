/**
 * Compose failures whose fix is on the host: the error says what to do. The stderr texts are
 * recorded from real runs against a private dockerd 26.1 started with a one-network address pool
 * (`--default-address-pool base=10.199.0.0/24,size=24`): the second project's `up` fails.
 */
import { describe, expect, it } from 'vitest';
import { DriftdError } from '../../../src/errors/index.js';
import { assertComposeOk } from '../../../src/live/compose-cli.js';
import type { ExecResult } from '../../../src/util/exec.js';

const result = (over: Partial<ExecResult>): ExecResult => ({ code: 1, stdout: '', stderr: '', timedOut: false, durationMs: 1200, ...over });

function failure(r: ExecResult): DriftdError {
  let caught: unknown;
  try {
    assertComposeOk(r, 'up', 'shop');
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof DriftdError)) throw new Error(`expected ComposeFailed, got ${String(caught)}`);
  return caught as DriftdError;
}

const POOL_ADVICE = /; the Docker engine has no address pool left for another network .*"default-address-pools" in \/etc\/docker\/daemon\.json.*restart dockerd and sync again/;

describe('assertComposeOk: the address pools are exhausted', () => {
  const recorded: [string, string][] = [
    [
      'Compose v2 2.26 on Engine 26.1',
      ' Network pool2_default  Creating\n Network pool2_default  Error\nfailed to create network pool2_default: Error response from daemon: could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network\n',
    ],
    [
      'Compose v1 1.29',
      'Creating network "pool3_default" with the default driver\ncould not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network\n',
    ],
    // Engine 27+ words it differently (libnetwork's reworked address allocator).
    ['Engine 27+', 'failed to create network shop_default: Error response from daemon: all predefined address pools have been fully subnetted\n'],
  ];
  it.each(recorded)('%s: ComposeFailed says to configure default-address-pools', (_what, stderr) => {
    const e = failure(result({ stderr }));
    expect(e.code).toBe('ComposeFailed');
    expect(e.message).toMatch(/^compose up failed for stack shop \(exit code \d+: .*address pool/);
    expect(e.message).toMatch(POOL_ADVICE);
    expect(e.message).not.toContain('see the log');
    expect(e.data).toMatchObject({ cause: 'address-pools-exhausted', project: 'shop' });
  });

  it('other failures keep the plain advice and no cause', () => {
    const e = failure(result({ stderr: 'Error response from daemon: manifest for x:y not found\n' }));
    expect(e.message).toMatch(/; see the log for Compose's full output$/);
    expect(e.data).not.toHaveProperty('cause');
  });

  it('a timeout is a timeout, whatever the output said before', () => {
    const e = failure(result({ timedOut: true, code: -1, stderr: 'could not find an available, non-overlapping IPv4 address pool' }));
    expect(e.message).toMatch(/timed out after 1 s\); see the log/);
  });
});
