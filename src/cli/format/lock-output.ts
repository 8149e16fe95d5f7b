import type { LockCommandResult } from '../../commands/lock.js';

/** One line per stack, then one line per finding and warning: what `driftd lock` prints. */
export function formatLockResults(result: LockCommandResult): string {
  const lines: string[] = [];
  for (const r of result.results) {
    lines.push(`${r.stack}: ${r.status} ${r.file}${r.error !== undefined ? `: ${r.error}` : ''}`);
    for (const f of r.findings) lines.push(`  ${f.kind}${f.service !== undefined ? ` (${f.service})` : ''}: ${f.message}`);
    for (const w of r.warnings) lines.push(`  warning: ${w}`);
  }
  return `${lines.join('\n')}\n`;
}
