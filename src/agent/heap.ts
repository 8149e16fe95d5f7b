/**
 * The agent's V8 heap policy (issue 20, agent memory). The agent is a long-lived process that is
 * idle most of the time, so it trades a little GC CPU for a smaller heap: V8's
 * `--optimize-for-size` makes the heap grow by smaller steps after each GC.
 *
 * Measured with the bench's agent child at 200 stacks (100 no-change cycles each, two runs per
 * side, quiet machine; sampled after a forced GC): reserved heap 24.5–29.5 MiB → 20.8–23.0 MiB, RSS
 * after the last cycle 93.8–95.8 MiB → 81.3–82.6 MiB, RSS growth from the first cycle to the last
 * 18.7–21.6 % → 7.6–9.3 %, for about 3 ms more CPU per cycle (36.8–37.9 → 39.3–42.4 ms).
 *
 * Set at run time because node refuses it in NODE_OPTIONS ("not allowed"), and the image and the
 * systemd unit start `driftd agent` through bin/driftd.js. V8 reads the flag whenever it sizes the
 * heap after a GC, so setting it before the agent starts takes effect (the numbers above, and
 * test/unit/agent/heap.test.ts). The semi-space size, which V8 fixes when the process starts, is
 * in NODE_OPTIONS instead (deploy/driftd.service, Dockerfile).
 */
import v8 from 'node:v8';

/** Applies the policy to this process; setting the flag again changes nothing. Call before the agent starts. */
export function preferSmallHeap(): void {
  v8.setFlagsFromString('--optimize-for-size');
}
