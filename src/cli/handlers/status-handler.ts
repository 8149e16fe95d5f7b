import { status } from '../../commands/status.js';
import { formatNotificationQueues } from '../format/status-output.js';
import { formatColumns } from '../../report/columns.js';
import { stableStringify } from '../../util/hash.js';
import type { Handler } from '../context.js';
import { flag } from '../options.js';
import { shortCommit } from '../../util/text.js';

const short = (sha: string | undefined): string => (sha ? shortCommit(sha) : '-');

export const handler: Handler = async (ctx, opts) => {
  const result = await status({ config: ctx.config, logger: ctx.logger });
  if (flag(opts, 'json')) {
    ctx.out(stableStringify(result, 2));
    return 0;
  }
  const target = result.target ? `${result.target.ref ?? ''} (${short(result.target.commit)})`.trim() : `unknown: ${result.targetError ?? ''}`;
  ctx.out(`host ${result.host}  target ${target}\n`);
  if (result.dockerError) ctx.out(`warning: ${result.dockerError}: every stack's sync and health are Unknown\n`);
  for (const w of result.warnings) ctx.out(`warning: ${w}\n`);
  if (result.stacks.length === 0) ctx.out('no stack has been evaluated on this host yet: run `driftd sync` or `driftd agent`');
  else ctx.out(
    formatColumns(
      ['STACK', 'DESIRED', 'DEPLOYED', 'SYNC', 'HEALTH', 'PIN', 'LAST OPERATION', 'REASON'],
      result.stacks.map((s) => [
        s.stack,
        short(s.desiredRevision),
        s.deployedRevision ? `${s.deployedRef ? `${s.deployedRef} ` : ''}${short(s.deployedRevision)}` : '-',
        s.sync,
        s.health,
        s.pin ?? '-',
        s.lastOperation ? `${s.lastOperation.action} ${s.lastOperation.result} ${s.lastOperation.at}` : '-',
        s.pending ? `awaiting approval of ${short(s.pending)}` : (s.reason ?? ''),
      ]),
    ),
  );
  if (result.notifications) ctx.out(`\n${formatNotificationQueues(result.notifications)}`);
  return 0;
};
