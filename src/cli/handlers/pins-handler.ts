import { approve, pin, resume } from '../../commands/pins.js';
import { sync } from '../../commands/sync.js';
import { DriftdError } from '../../errors/index.js';
import type { Handler } from '../context.js';
import { flag, optionalString } from '../options.js';
import { actor, printSync } from './sync-handler.js';
import { shortCommit } from '../../util/text.js';

export const rollbackHandler: Handler = async (ctx, opts, args) => {
  const tag = args[0];
  if (!tag) throw new DriftdError('UsageError', 'driftd rollback needs the tag to roll back to, e.g. `driftd rollback v1.4.1`');
  const stack = optionalString(opts, 'stack');
  const who = actor();
  const allowUnverified = flag(opts, 'allowUnverified');
  const command = `driftd rollback ${tag}${stack ? ` --stack ${stack}` : ''}${allowUnverified ? ' --allow-unverified' : ''}`;
  const pinned = await pin({ config: ctx.config, logger: ctx.logger, tag, ...(stack ? { stack } : {}), actor: who, allowUnverified, command });
  ctx.logger.info({ tag, commit: pinned.commit, stack }, `pinned ${stack ?? 'this host'} to ${tag}; applying it now (driftd resume removes the pin)`);
  const result = await sync({
    config: ctx.config,
    logger: ctx.logger,
    trigger: 'cli',
    actor: who,
    command,
    ...(stack ? { stacks: [stack] } : {}),
    force: true,
    // A rollback is the way out of an incident: sync windows do not hold it back (audited).
    ignoreWindows: true,
  });
  printSync(ctx, result, flag(opts, 'json'), false);
  return result.exitCode;
};

export const resumeHandler: Handler = (ctx, opts) => {
  const stack = optionalString(opts, 'stack');
  const { removed } = resume({ config: ctx.config, ...(stack ? { stack } : {}), actor: actor() });
  ctx.out(removed ? `pin removed from ${stack ?? 'this host'}; the next sync tracks the ref policy again` : `${stack ?? 'this host'} was not pinned`);
  return Promise.resolve(0);
};

export const approveHandler: Handler = (ctx, opts, args) => {
  const stack = args[0];
  if (!stack) return Promise.reject(new DriftdError('UsageError', 'driftd approve needs a stack name'));
  const revision = optionalString(opts, 'revision');
  const result = approve({ config: ctx.config, stack, ...(revision ? { revision } : {}), actor: actor() });
  ctx.out(`approved ${stack} at ${shortCommit(result.revision)}; the next sync applies it`);
  return Promise.resolve(0);
};
