import os from 'node:os';
import { sync, type SyncResult } from '../../commands/sync.js';
import { formatColumns } from '../../report/columns.js';
import { stableStringify } from '../../util/hash.js';
import type { CommandContext, Handler } from '../context.js';
import { flag, stringList } from '../options.js';
import { shortCommit } from '../../util/text.js';

export function printSync(ctx: CommandContext, result: SyncResult, json: boolean, dryRun: boolean): void {
  if (json) {
    const plan = result.plan.stacks.map((p) => ({ stack: p.stack, action: p.action, reason: p.reason, revision: p.revision, changedServices: p.changedServices }));
    ctx.out(stableStringify({ revision: result.revision, plan, warnings: [...result.warnings, ...result.plan.warnings], outcomes: result.outcomes, exitCode: result.exitCode, ...(result.verdict ? { verdict: result.verdict } : {}), yamlParses: result.yamlParses }, 2));
    return;
  }
  const rev = `${result.revision.ref ? `${result.revision.ref} ` : ''}(${shortCommit(result.revision.commit)})`;
  if (dryRun) {
    ctx.out(`plan for revision ${rev} (dry run: nothing changed)\n`);
    ctx.out(formatColumns(['STACK', 'ACTION', 'SERVICES', 'REASON'], result.plan.stacks.map((p) => [p.stack, p.action, p.changedServices.join(',') || '-', p.reason])));
  } else {
    ctx.out(`revision ${rev}\n`);
    ctx.out(formatColumns(['STACK', 'ACTION', 'RESULT', 'HEALTH', 'MESSAGE'], result.outcomes.map((o) => [o.stack, o.action, o.result, o.health ?? '-', o.message])));
  }
  for (const w of result.plan.warnings) ctx.out(`warning: ${w}`);
}

export function actor(): string {
  return process.env.SUDO_USER ?? process.env.USER ?? os.userInfo().username;
}

export const handler: Handler = async (ctx, opts) => {
  const stacks = stringList(opts, 'stack');
  const dryRun = flag(opts, 'dryRun');
  const result = await sync({
    config: ctx.config,
    logger: ctx.logger,
    trigger: 'cli',
    actor: actor(),
    command: ['driftd sync', ...stacks.map((s) => `--stack ${s}`), dryRun ? '--dry-run' : '', flag(opts, 'force') ? '--force' : '', flag(opts, 'ignoreWindows') ? '--ignore-windows' : ''].filter(Boolean).join(' '),
    stacks,
    dryRun,
    force: flag(opts, 'force'),
    allowMassPrune: flag(opts, 'allowMassPrune'),
    ignoreWindows: flag(opts, 'ignoreWindows'),
    // commander turns --no-cache into cache: false.
    noCache: opts.cache === false,
  });
  printSync(ctx, result, flag(opts, 'json'), dryRun);
  return result.exitCode;
};
