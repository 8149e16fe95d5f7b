import { scrub } from './scrub.js';
import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Every serialized log line, at every level, passes the process's secret scrubber (nothing bypasses it). */
const scrubLine = (line: string): string => scrub(line);

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Pretty output for people; JSON otherwise. Defaults to "stderr is a TTY". */
  pretty?: boolean;
  destination?: NodeJS.WritableStream | number;
}

/** Logs go to stderr so that stdout stays the command's result (tables, JSON, YAML). */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const pretty = opts.pretty ?? process.stderr.isTTY === true;
  if (pretty) {
    return pino({
      level,
      hooks: { streamWrite: scrubLine },
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } },
    });
  }
  const dest = opts.destination ?? 2;
  return pino(
    { level, base: { name: 'driftd' }, hooks: { streamWrite: scrubLine } },
    typeof dest === 'number' ? pino.destination({ fd: dest, sync: true }) : dest,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
