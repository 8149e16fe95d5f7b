import type { NotificationQueueView } from '../../commands/status.js';
import { formatColumns } from '../../report/columns.js';
import { shortDuration } from '../../util/text.js';

/** The outbox per channel: what waits, for how long, what was given up, and the last error (already scrubbed). */
export function formatNotificationQueues(queues: readonly NotificationQueueView[]): string {
  if (queues.length === 0) return 'notifications: nothing queued\n';
  return `notifications:\n${formatColumns(
    ['CHANNEL', 'PENDING', 'OLDEST PENDING', 'GIVEN UP', 'LAST ERROR'],
    queues.map((q) => [q.channel, String(q.pending), q.oldestPendingAgeSeconds !== undefined ? `${shortDuration(q.oldestPendingAgeSeconds * 1000)} ago` : '-', String(q.givenUp), q.lastError ?? '-']),
  )}`;
}
