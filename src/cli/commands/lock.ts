import { scrub } from '../../util/scrub.js';
import { loadStack, stackFolders } from '../../compose/index.js';
import type { DesiredStack } from '../../compose/model.js';
import { formatLockResults, lock } from '../../commands/lock.js';
import { openStateForCaching } from '../../commands/state-access.js';
import { describeError, DriftdError } from '../../errors/index.js';
import { createDockerClient, pingDocker } from '../../live/docker-client.js';
import { stableStringify } from '../../util/hash.js';
import type { Handler } from '../context.js';
import { flag, stringList } from '../options.js';

/**
 * `driftd lock` works on a checkout's working tree: the operator locks the compose files they are
 * about to commit, so the stacks are read from disk (every stack, whatever host it is for).
 */
export const handler: Handler = async (ctx, opts) => {
  const { config } = ctx;
  if (!config.repoIsLocal) {
    throw new DriftdError('UsageError', 'driftd lock writes locks/ into a checkout: run it inside the desired-state checkout or pass --repo <path>');
  }
  const only = stringList(opts, 'stack');
  const names = only.length > 0 ? only : stackFolders(config.repo);
  const stacks: DesiredStack[] = [];
  let loadFailed = false;
  for (const name of names) {
    try {
      stacks.push(await loadStack({ root: config.repo, name, envDir: config.envDir, maxFileBytes: config.validate.maxFileBytes }));
    } catch (e) {
      loadFailed = true;
      process.stderr.write(scrub(`driftd: ${name}: ${describeError(e)}\n`));
    }
  }
  const conn = createDockerClient(config);
  await pingDocker(conn.docker, conn.address);
  const state = openStateForCaching(config.dataDir);
  try {
    const result = await lock({
      root: config.repo,
      desired: stacks,
      docker: conn.docker,
      check: flag(opts, 'check'),
      offline: flag(opts, 'offline'),
      logger: ctx.logger,
      ...(state && !state.readonly ? { cache: state } : {}),
    });
    ctx.out(flag(opts, 'json') ? stableStringify(result, 2) : formatLockResults(result));
    return loadFailed ? 1 : result.exitCode;
  } finally {
    state?.close();
  }
};
