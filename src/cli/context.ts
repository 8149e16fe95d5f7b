import { registerSecrets, registerUrlSecrets, scrub } from '../util/scrub.js';
import { resolveConfig, type GlobalFlags, type ResolvedConfig } from '../config/resolve.js';
import path from 'node:path';
import { createLogger, type Logger } from '../util/logger.js';
import { tightenMode } from '../util/safe-write.js';
import { describeError } from '../errors/index.js';

/** What every command gets: resolved config, a logger, a clock. Clients are created from it lazily. */
export interface CommandContext {
  config: ResolvedConfig;
  logger: Logger;
  now: () => Date;
  /** Where results go (stdout); logs go to stderr. */
  out: (text: string) => void;
}

/** A command handler: gets the context, its own options and positional args; returns the exit code. */
export type Handler = (ctx: CommandContext, opts: Record<string, unknown>, args: string[]) => Promise<number>;

/**
 * Folders and files driftd keeps private (docs/design.md §8), with the widest mode each may have. Older
 * versions (or a folder made by hand, or by systemd's StateDirectory) may have left them wider.
 */
function privatePaths(config: ResolvedConfig): [string, number][] {
  const d = config.dataDir;
  return [
    [d, 0o700],
    ...['snapshots', 'git', 'git/mirror', 'cache', 'locks', 'deploy'].map((p): [string, number] => [path.join(d, p), 0o700]),
    ...['state.db', 'state.db-wal', 'state.db-shm'].map((p): [string, number] => [path.join(d, p), 0o600]),
    [config.auditDir, config.exportMode],
    [path.join(config.auditDir, 'runtime'), config.exportMode],
  ];
}

/** Tightens what an older driftd left wider than allowed, with one log line each. */
export function tightenPrivateModes(config: ResolvedConfig, logger: Logger): void {
  for (const [p, mode] of privatePaths(config)) {
    try {
      const changed = tightenMode(p, mode);
      if (changed) logger.info({ path: p, from: changed.from.toString(8).padStart(4, '0'), to: changed.to.toString(8).padStart(4, '0') }, 'tightened file mode');
    } catch (e) {
      logger.warn({ path: p, err: describeError(e) }, 'could not tighten file mode');
    }
  }
}

export function createContext(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): CommandContext {
  // Everything driftd creates is private (0700/0600) unless a writer sets a mode on purpose.
  process.umask(0o077);
  const config = resolveConfig({ flags, env });
  const logger = createLogger({ level: config.logLevel });
  tightenPrivateModes(config, logger);
  // driftd's own credentials never print either.
  registerSecrets([config.gitAuth?.password]);
  registerUrlSecrets(config.repo);
  return {
    config,
    logger,
    now: () => new Date(),
    out: (text) => {
      const clean = scrub(text);
      process.stdout.write(clean.endsWith('\n') ? clean : `${clean}\n`);
    },
  };
}
