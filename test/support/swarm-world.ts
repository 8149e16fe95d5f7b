/**
 * A PrivateSwarm and a SyncWorld whose driftd talks to it, for a whole test file (vitest hooks:
 * kept out of private-swarm.ts so that bench/swarm.ts can use the engine without vitest).
 */
import { afterAll, beforeAll } from 'vitest';
import { PrivateSwarm } from './private-swarm.js';
import { SyncWorld } from './sync-harness.js';

export interface SwarmWorld {
  readonly swarm: PrivateSwarm;
  readonly world: SyncWorld;
}

/** A PrivateSwarm and a SyncWorld on it for the whole test file; every cleanup step runs even when one fails. */
export function useSwarmWorld(): SwarmWorld {
  let swarm: PrivateSwarm | undefined;
  let world: SyncWorld | undefined;
  beforeAll(async () => {
    swarm = await PrivateSwarm.start();
    world = await SyncWorld.create({ dockerHost: swarm.host });
  }, 300_000);
  afterAll(async () => {
    const failures: unknown[] = [];
    for (const step of [() => world?.close() ?? Promise.resolve(), () => swarm?.close() ?? Promise.resolve()]) await step().catch((e: unknown) => failures.push(e));
    if (failures.length > 0) throw failures[0];
  }, 300_000);
  const made = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} is not started (beforeAll failed?)`);
    return v;
  };
  return {
    get swarm() {
      return made(swarm, 'the private Swarm');
    },
    get world() {
      return made(world, 'the sync world');
    },
  };
}
