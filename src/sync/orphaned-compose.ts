import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * PIDs of Compose runs for `project` still alive (Linux /proc). A driftd killed with SIGKILL leaves
 * its `compose up` child running; recovery must wait for it rather than run Compose on the same
 * project at the same time. driftd always passes `--project-name <stack>` (see ComposeCli.run).
 */
export function composeRunsFor(project: string, procRoot = '/proc'): number[] {
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`${procRoot}/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const i = args.indexOf('--project-name');
    if (i >= 0 && args[i + 1] === project && args.some((a) => a.includes('compose'))) pids.push(Number(entry));
  }
  return pids;
}

/** Waits (bounded) until no orphaned Compose run touches `project`; returns false on timeout. */
export async function waitForComposeRuns(project: string, timeoutMs: number, pollMs = 500): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (composeRunsFor(project).length > 0) {
    if (Date.now() > until) return false;
    await sleep(pollMs);
  }
  return true;
}
