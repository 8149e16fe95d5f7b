/**
 * The agent loop the bench measures in a process of its own, so that neither the bench's memory
 * nor its loopback Git server counts: `startAgent({ runAtStart: false })`, then
 * `await trigger('schedule')` again and again, timing each cycle (wall, process.cpuUsage) and
 * sampling process.memoryUsage() after start, after the first cycle and after the last.
 *
 * It runs on plain `node` against dist/bundle/ — what production runs. agent-runner.ts transpiles this
 * file to JavaScript first, because loading it through tsx would add tsx's loader thread (~45 MB
 * RSS) to every memory sample. Hence only `import type` from src/ and node: built-ins here.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as EmbedModule from '../src/agent/embed.js';
import type * as ResolveModule from '../src/config/resolve.js';

export interface AgentChildInput {
  /** Absolute path of the built dist/ folder. */
  distDir: string;
  flags: ResolveModule.GlobalFlags;
  cycles: number;
}

export interface MemorySample {
  rssBytes: number;
  /** V8 heap reserved (young + old generation), of which heapUsed is live. */
  heapTotalBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
}

export interface CycleSample {
  wallMs: number;
  cpuMs: number;
  ok: boolean;
  exitCode?: number;
  error?: string;
}

export interface AgentChildOutput {
  memory: { beforeStart: MemorySample; afterStart: MemorySample; afterFirstCycle: MemorySample; afterLastCycle: MemorySample };
  /** Memory after cycles 1, 10 %, 20 %… of the run: the shape of any growth. */
  trace: (MemorySample & { cycle: number })[];
  cycles: CycleSample[];
}

function memory(): MemorySample {
  // Collect first (the child runs with --expose-gc) so that samples compare live memory, not GC timing.
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapTotalBytes: m.heapTotal, heapUsedBytes: m.heapUsed, externalBytes: m.external };
}

async function load<T>(distDir: string, file: string): Promise<T> {
  return (await import(pathToFileURL(path.join(distDir, file)).href)) as T;
}

async function main(input: AgentChildInput): Promise<AgentChildOutput> {
  // The bundle production runs (bin/driftd.js loads bundle/main.js; this is its agent entry).
  const { startAgent, resolveConfig, createLogger } = await load<typeof EmbedModule>(input.distDir, 'bundle/agent.js');
  const config = resolveConfig({ flags: input.flags });
  const logger = createLogger({ level: config.logLevel, pretty: false });

  const beforeStart = memory();
  // A day-long interval keeps the schedule from adding a cycle of its own during the measurement.
  const agent = await startAgent({ config, logger, runAtStart: false, intervalMs: 86_400_000 });
  const afterStart = memory();
  const cycles: CycleSample[] = [];
  const trace: AgentChildOutput['trace'] = [];
  const traceEvery = Math.max(1, Math.floor(input.cycles / 10));
  let afterFirstCycle = afterStart;
  try {
    for (let i = 0; i < input.cycles; i++) {
      const cpu = process.cpuUsage();
      const started = process.hrtime.bigint();
      await agent.trigger('schedule');
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const used = process.cpuUsage(cpu);
      const last = agent.lastRun;
      cycles.push({
        wallMs,
        cpuMs: (used.user + used.system) / 1000,
        ok: last?.ok === true,
        ...(last?.exitCode !== undefined ? { exitCode: last.exitCode } : {}),
        ...(last?.error !== undefined ? { error: last.error } : {}),
      });
      if (i === 0) afterFirstCycle = memory();
      if (i === 0 || (i + 1) % traceEvery === 0 || i === input.cycles - 1) trace.push({ cycle: i + 1, ...(i === 0 ? afterFirstCycle : memory()) });
    }
  } finally {
    await agent.stop();
  }
  const { cycle: _cycle, ...afterLastCycle } = trace.at(-1) ?? { cycle: 0, ...afterFirstCycle };
  return { memory: { beforeStart, afterStart, afterFirstCycle, afterLastCycle }, trace, cycles };
}

const arg = process.argv[2];
if (arg !== undefined) {
  main(JSON.parse(arg) as AgentChildInput).then(
    (out) => process.stdout.write(`${JSON.stringify(out)}\n`),
    (e: unknown) => {
      process.stderr.write(`agent child failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
