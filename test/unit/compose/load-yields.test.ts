/**
 * The async desired-state load gives the event loop a turn while it parses (PARSE_SLICE_MS), so
 * that engine calls started before it (drift-check's container inspects) keep flowing instead of
 * waiting for the last compose file; its result is the synchronous load's.
 */
import { afterAll, expect, it } from 'vitest';
import { loadDesiredState, loadDesiredStateSync } from '../../../src/compose/load-desired-state.js';
import { cleanupTrees, makeTree, type Tree } from './fixture.js';

afterAll(cleanupTrees);

function stacks(n: number): Tree {
  const files: Tree = { 'fleet.yaml': 'stacks:\n  s-000: {sync: manual}\n' };
  for (let i = 0; i < n; i++) {
    const s = `s-${String(i).padStart(3, '0')}`;
    files[`stacks/${s}/compose.yaml`] = `services:\n  web:\n    image: "nginx:\${TAG:-1.27}"\n    ports: ["${8000 + i}:80"]\n    environment: [MODE=prod, STACK=${s}]\n  worker: {image: "app:1.0", command: "worker --queue ${s}"}\n`;
  }
  // A stack that fails alone keeps its place in the errors, as in the synchronous load.
  files['stacks/broken/compose.yaml'] = 'services: [';
  return files;
}

it('lets timers and I/O callbacks run between stacks, and loads what the synchronous load loads', async () => {
  const root = makeTree(stacks(300));
  const revision = { commit: 'c0ffee' };
  let turns = 0;
  let loading = true;
  const tick = (): void => {
    if (!loading) return;
    turns += 1;
    setImmediate(tick);
  };
  setImmediate(tick);
  const started = performance.now();
  const state = await loadDesiredState({ root, host: 'h', revision });
  const ms = performance.now() - started;
  loading = false;
  // 300 cold stacks parse for far longer than one 4 ms slice on any machine: the loop got turns.
  expect(ms).toBeGreaterThan(8);
  expect(turns).toBeGreaterThan(0);
  expect(state).toEqual(loadDesiredStateSync({ root, host: 'h', revision }));
  expect(state.stacks).toHaveLength(300);
  expect(state.errors.map((e) => e.stack)).toEqual(['broken']);
  expect(state.stacks[0]?.policy.sync).toBe('manual');
});

it('a missing tree rejects the promise (it does not throw synchronously)', async () => {
  const pending = loadDesiredState({ root: '/nonexistent/driftd-tree', host: 'h', revision: { commit: 'c0ffee' } });
  await expect(pending).rejects.toMatchObject({ code: 'RepoNotFound' });
});
