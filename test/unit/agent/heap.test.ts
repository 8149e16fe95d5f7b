/**
 * The agent's heap policy (src/agent/heap.ts): `driftd agent` applies V8's --optimize-for-size at
 * run time, because node refuses it in NODE_OPTIONS. Proven on a fresh node: the same burst of
 * promoted-then-dropped objects leaves a clearly smaller reserved heap after a full GC with the
 * policy applied than without it; if the run-time flag stopped taking effect, both would match.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const heapModule = pathToFileURL(path.resolve(import.meta.dirname, '../../../src/agent/heap.ts')).href;

/** Reserved V8 heap (bytes) after a full GC that follows the burst; `apply` calls preferSmallHeap() first. */
function reservedAfterBurst(apply: boolean): number {
  const probe = `
    const v8 = await import('node:v8');
    if (${apply}) (await import(${JSON.stringify(heapModule)})).preferSmallHeap();
    let keep = [];
    for (let round = 0; round < 30; round++) {
      const batch = [];
      for (let i = 0; i < 100000; i++) batch.push({ i, s: 'x' + i });
      keep.push(batch);
      if (keep.length > 3) keep.shift();
    }
    keep = null;
    globalThis.gc();
    process.stdout.write(String(v8.getHeapStatistics().total_heap_size));
  `;
  return Number(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }));
}

describe('preferSmallHeap', () => {
  it('makes V8 keep a clearly smaller heap after the same garbage', () => {
    const normal = reservedAfterBurst(false);
    const small = reservedAfterBurst(true);
    expect(small).toBeGreaterThan(0);
    // Measured: 9–13 MiB against 37.5 MiB on a quiet machine, up to 21.5 MiB under three busy loops on 2 cores.
    expect(small).toBeLessThan(normal * 0.75);
  });
});
