import type { Logger } from '../util/logger.js';

/**
 * Runs until SIGTERM or SIGINT, then stops the long-running service (agent, hub) and resolves —
 * also when stopping fails, so the process still exits.
 */
export function untilSignal(service: { stop(): Promise<unknown> }, logger: Logger, message: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      logger.info({ signal }, message);
      service.stop().then(() => resolve(), () => resolve());
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
