/**
 * One stack changed, as the running agent meets it: the agent (dist/bundle/agent.js, the bundle
 * production runs) started in this process, warmed up by one cycle, then one cycle per new tag,
 * timed around `trigger()` — no process start, which the `driftd sync` runs pay every time.
 * Its Compose runs go through the spy like the CLI's (PATH and the log variable are set on this
 * process while the agent runs, because Compose inherits the agent's environment).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as EmbedModule from '../src/agent/embed.js';
import type { GlobalFlags } from '../src/config/resolve.js';
import { ComposeSpy, type ComposeCall } from './compose-spy.js';

export interface AgentChangeRun {
  wallMs: number;
  compose: ComposeCall[];
}

export interface AgentChangeOptions {
  distDir: string;
  flags: GlobalFlags;
  /** The environment Compose must run with (the spy's PATH and log variable). */
  env: NodeJS.ProcessEnv;
  composeLog: string;
  reps: number;
  /** Pushes a new tag that changes one stack; returns that stack. */
  change: () => Promise<string>;
}

function swapEnv(env: NodeJS.ProcessEnv): () => void {
  const saved = { ...process.env };
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, env);
  return () => {
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, saved);
  };
}

export async function agentChangeCycles(opts: AgentChangeOptions): Promise<AgentChangeRun[]> {
  const embed = (await import(pathToFileURL(path.join(opts.distDir, 'bundle', 'agent.js')).href)) as typeof EmbedModule;
  const restore = swapEnv(opts.env);
  const agent = await embed.startAgent({
    config: embed.resolveConfig({ flags: opts.flags, env: {} }),
    logger: embed.createLogger({ level: 'warn', pretty: false }),
    runAtStart: false,
    intervalMs: 86_400_000,
  });
  const cycle = async (what: string): Promise<number> => {
    const started = process.hrtime.bigint();
    await agent.trigger('schedule');
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const last = agent.lastRun;
    if (!last?.ok || last.exitCode !== 0) throw new Error(`agent cycle (${what}) failed: ${last?.error ?? `exit ${last?.exitCode}`}`);
    return wallMs;
  };
  const runs: AgentChangeRun[] = [];
  try {
    await cycle('warm-up');
    for (let i = 0; i < opts.reps; i++) {
      const stack = await opts.change();
      ComposeSpy.reset(opts.composeLog);
      const wallMs = await cycle(`after changing ${stack}`);
      runs.push({ wallMs, compose: ComposeSpy.read(opts.composeLog) });
    }
  } finally {
    await agent.stop();
    restore();
  }
  return runs;
}
