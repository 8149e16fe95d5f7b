import { z } from 'zod';
import { lazy } from '../util/lazy.js';

const duration = lazy(() => z.union([z.string().min(1), z.number().positive()]));

/** One window as written in the config file (`windows:`) or in fleet.yaml (`stacks.<s>.windows`). */
export const syncWindowSchema = lazy(() =>
  z
    .object({
      kind: z.enum(['allow', 'deny']),
      /** Cron (5 fields or an @macro) in `timezone`: when the window opens. */
      schedule: z.string().min(1),
      /** How long it stays open after each opening (elapsed time, e.g. 1h, 10h30m). */
      duration: duration(),
      timezone: z.string().min(1).optional(),
      /** Glob patterns (`*`, `web-*`); default every stack. Not allowed inside fleet.yaml's per-stack windows. */
      stacks: z.array(z.string().min(1)).optional(),
      /** Let a manual `driftd sync` through while this window blocks. */
      manualSync: z.boolean().optional(),
    })
    .strict(),
);

export type SyncWindowInput = z.infer<ReturnType<typeof syncWindowSchema>>;

export interface SyncWindow {
  kind: 'allow' | 'deny';
  schedule: string;
  durationMs: number;
  timezone: string;
  stacks: string[];
  manualSync: boolean;
}
