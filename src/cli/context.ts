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
  return {
    config,
    logger: createLogger({ level: config.logLevel }),
    now: () => new Date(),
    out: (text) => {
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
  };
}
