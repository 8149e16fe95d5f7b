import { scrub } from '../../util/scrub.js';
import { describeStackLoadError } from '../../compose/index.js';
import { render } from '../../commands/render.js';
import { openSource } from '../../commands/target.js';
import type { Handler } from '../context.js';
import { flag, stringList } from '../options.js';

export const handler: Handler = async (ctx, opts) => {
  const { config } = ctx;
  const stacks = stringList(opts, 'stack');
  const poll = await openSource(config, ctx.logger).poll(config.ref);
  const result = await render({
    root: poll.snapshot.dir,
    host: config.host,
    revision: { commit: poll.revision.commit, ref: poll.revision.ref, refKind: poll.revision.refKind },
    envDir: config.envDir,
    allowProcessEnv: config.allowProcessEnv,
    privateEnvNames: config.privateEnvNames,
    maxFileBytes: config.validate.maxFileBytes,
    snapshotProblems: poll.snapshot.problems,
    ...(stacks.length > 0 ? { stacks } : {}),
    format: flag(opts, 'json') ? 'json' : 'yaml',
  });
  ctx.out(result.text);
  for (const e of result.errors) process.stderr.write(scrub(`driftd: ${describeStackLoadError(e)}\n`));
  return result.errors.length > 0 ? 1 : 0;
};
