/**
 * What a program needs to run the agent in its own process (the bench does, to time cycles and
 * sample memory without a process boundary): the agent, its heap policy (what `driftd agent`
 * applies before it starts), the config resolver and the logger.
 * The build bundles this as dist/bundle/agent.js next to the CLI's dist/bundle/main.js.
 */
export { startAgent } from './daemon.js';
export { preferSmallHeap } from './heap.js';
export { resolveConfig } from '../config/resolve.js';
export { createLogger } from '../util/logger.js';
