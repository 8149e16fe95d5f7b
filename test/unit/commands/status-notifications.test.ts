/** `driftd status`'s outbox section (docs/notifications.md "Where to see it"): ages, scrubbing, the text table. */
import { describe, expect, it } from 'vitest';
import { formatNotificationQueues } from '../../../src/cli/format/status-output.js';
import { notificationQueues } from '../../../src/commands/status.js';
import { registerSecrets } from '../../../src/util/scrub.js';

const NOW = Date.parse('2026-12-05T12:00:00.000Z');

describe('notificationQueues', () => {
  it('adds the age of the oldest pending event, in whole seconds, never negative', () => {
    const q = notificationQueues(
      [
        { channel: 'webhook:sha256:aaaaaaaaaaaa', pending: 2, givenUp: 0, oldestPending: '2026-12-05T11:57:30.400Z', lastError: 'HTTP 500: down' },
        { channel: 'slack:sha256:bbbbbbbbbbbb', pending: 0, givenUp: 3 },
        { channel: 'ntfy:sha256:cccccccccccc', pending: 1, givenUp: 0, oldestPending: '2026-12-05T12:00:05.000Z' },
      ],
      NOW,
    );
    expect(q[0]).toEqual({ channel: 'webhook:sha256:aaaaaaaaaaaa', pending: 2, givenUp: 0, oldestPending: '2026-12-05T11:57:30.400Z', oldestPendingAgeSeconds: 150, lastError: 'HTTP 500: down' });
    expect(q[1]).toEqual({ channel: 'slack:sha256:bbbbbbbbbbbb', pending: 0, givenUp: 3 });
    expect(q[2]?.oldestPendingAgeSeconds).toBe(0);
  });

  it('scrubs the last error again (a row written before a secret was registered)', () => {
    registerSecrets(['status-outbox-canary-93f1']);
    const [q] = notificationQueues([{ channel: 'webhook:sha256:aaaaaaaaaaaa', pending: 1, givenUp: 0, lastError: 'HTTP 401: bad token status-outbox-canary-93f1' }], NOW);
    expect(q?.lastError).not.toContain('status-outbox-canary-93f1');
    expect(q?.lastError).toMatch(/^HTTP 401: bad token /);
  });

  it('ignores a timestamp it cannot read instead of printing NaN', () => {
    const [q] = notificationQueues([{ channel: 'c', pending: 1, givenUp: 0, oldestPending: 'yesterday' }], NOW);
    expect(q).not.toHaveProperty('oldestPendingAgeSeconds');
  });
});

describe('formatNotificationQueues', () => {
  it('one row per channel: pending, the oldest pending age, given up, last error', () => {
    const text = formatNotificationQueues([
      { channel: 'webhook:sha256:aaaaaaaaaaaa', pending: 2, givenUp: 1, oldestPendingAgeSeconds: 150, lastError: 'HTTP 500: down' },
      { channel: 'slack:sha256:bbbbbbbbbbbb', pending: 0, givenUp: 0 },
    ]);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('notifications:');
    expect(lines[1]).toMatch(/^CHANNEL\s+PENDING\s+OLDEST PENDING\s+GIVEN UP\s+LAST ERROR$/);
    expect(lines[2]).toMatch(/^webhook:sha256:aaaaaaaaaaaa\s+2\s+2m30s ago\s+1\s+HTTP 500: down$/);
    expect(lines[3]).toMatch(/^slack:sha256:bbbbbbbbbbbb\s+0\s+-\s+0\s+-$/);
  });

  it('says so when nothing is queued', () => {
    expect(formatNotificationQueues([])).toBe('notifications: nothing queued\n');
  });

  it('keeps a hostile error on one line', () => {
    const text = formatNotificationQueues([{ channel: 'c', pending: 1, givenUp: 0, lastError: 'HTTP 500: a\nb\u001b[31mc' }]);
    expect(text.trimEnd().split('\n')).toHaveLength(3);
    expect(text).not.toContain('\u001b');
  });
});
