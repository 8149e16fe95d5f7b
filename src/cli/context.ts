import { processSecrets, scrub } from '../util/scrub.js';
import { resolveConfig, type GlobalFlags, type ResolvedConfig } from '../config/resolve.js';
import { createLogger, type Logger } from '../util/logger.js';

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

export function createContext(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): CommandContext {
  const config = resolveConfig({ flags, env });
  // driftd's own credentials never print either.
  processSecrets.add([config.gitAuth?.password ?? '']);
  return {
    config,
    logger: createLogger({ level: config.logLevel }),
    now: () => new Date(),
    out: (text) => {
      const clean = scrub(text);
      process.stdout.write(clean.endsWith('\n') ? clean : `${clean}\n`);
    },
  };
}
