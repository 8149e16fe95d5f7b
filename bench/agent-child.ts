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
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
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
  /**
   * Of wallMs, the time Git requests were waiting for the server (request sent → answer's last
   * byte; overlapping requests count once): the loopback `git http-backend` starts a git process
   * per request, a cost of the server, not of the agent.
   */
  gitWaitMs: number;
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

/** Git smart-HTTP requests (`info/refs`, `git-upload-pack`): the only HTTP requests to the Git server. */
const isGitRequest = (req: ClientRequest): boolean => /\/(info\/refs|git-upload-pack)(\?|$)/.test(req.path);

/**
 * Times the Git requests of this process through node's HTTP client diagnostics channels (no
 * change to driftd): `waitedMs()` is the union of the intervals during which at least one was
 * outstanding, since the last call.
 */
function gitWaitTracker(): { waitedMs: () => number } {
  let open = 0;
  let since = 0n;
  let total = 0n;
  const begin = (): void => {
    if (open++ === 0) since = process.hrtime.bigint();
  };
  const end = (): void => {
    if (--open === 0) total += process.hrtime.bigint() - since;
  };
  const tracked = new WeakSet<ClientRequest>();
  diagnostics.subscribe('http.client.request.start', (msg) => {
    const { request } = msg as { request: ClientRequest };
    if (!isGitRequest(request)) return;
    tracked.add(request);
    begin();
    // An answer that never comes (error, abort) ends the wait too.
    request.once('close', () => {
      if (tracked.delete(request)) end();
    });
  });
  diagnostics.subscribe('http.client.response.finish', (msg) => {
    const { request, response } = msg as { request: ClientRequest; response: IncomingMessage };
    if (!tracked.has(request)) return;
    response.once('end', () => {
      if (tracked.delete(request)) end();
    });
  });
  return {
    waitedMs: () => {
      const now = process.hrtime.bigint();
      const ms = Number(total + (open > 0 ? now - since : 0n)) / 1e6;
      total = 0n;
      if (open > 0) since = now;
      return ms;
    },
  };
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
  const { startAgent, preferSmallHeap, resolveConfig, createLogger } = await load<typeof EmbedModule>(input.distDir, 'bundle/agent.js');
  // What `driftd agent` does before it starts the agent (src/cli/handlers/agent-handler.ts).
  preferSmallHeap();
  const config = resolveConfig({ flags: input.flags });
  const logger = createLogger({ level: config.logLevel, pretty: false });

  const git = gitWaitTracker();
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
      git.waitedMs();
      const started = process.hrtime.bigint();
      await agent.trigger('schedule');
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const used = process.cpuUsage(cpu);
      const last = agent.lastRun;
      cycles.push({
        wallMs,
        cpuMs: (used.user + used.system) / 1000,
        gitWaitMs: git.waitedMs(),
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
