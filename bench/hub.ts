/**
 * `npm run bench:hub -- [--hosts 1000] [--stacks 20] [--minutes 3] [--interval 15]`: a real
 * `driftd hub` process (the built CLI) and, in this one process, `--hosts` simulated agents with
 * realistic status documents (`--stacks` stacks each, some out of sync, with findings, pins and
 * last operations), each reporting every `--interval` seconds (random phase) for `--minutes` on
 * loopback. Measures the hub's CPU and RSS (from /proc), the ingest latency (POST → 202, client
 * side), and the time to render the fleet page (200 rows, and every host) and `/api/fleet` at
 * hosts × stacks, while reports keep arriving and after. Prints a Markdown table and writes
 * bench/results/hub.{md,json}. A benchmark, not a test: it never fails on timing.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Report, ReportStack } from '../src/hub/report.js';
import { freePort } from '../test/support/free-port.js';
import { startHubProcess } from '../test/support/hub-fixture.js';
import { REPO_ROOT } from './driftd.js';
import { fmtMb, fmtMs } from './format.js';
import { loadAverage } from './machine.js';

const READ = 'bench-hub-read-token-0123456789';
const tokenOf = (h: string): string => `bench-agent-token-${h}-0123456789abcdef`;
const hex = (seed: number): string => (seed.toString(16).padStart(8, '0').repeat(5)).slice(0, 40);
const log = (line: string): void => console.error(`[bench:hub ${new Date().toISOString().slice(11, 19)}] ${line}`);

function positiveInt(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} must be a positive number, got "${value}"`);
  return n;
}

/** A host's document: most stacks synced on the fleet's target, some behind, drifted or degraded (deterministic per host). */
function documentOf(host: string, index: number, stacks: number, kind: Report['kind']): Report {
  const target = { commit: hex(0xc0ffee), ref: 'v1.4.2' };
  const older = { commit: hex(0xbeef), ref: 'v1.4.1' };
  const now = new Date().toISOString();
  const rows: ReportStack[] = Array.from({ length: stacks }, (_, s): ReportStack => {
    const behind = (index + s) % 17 === 0;
    const drifted = (index * 7 + s) % 23 === 0;
    const degraded = (index + s * 3) % 41 === 0;
    return {
      name: `svc-${String(s).padStart(2, '0')}-${['web', 'api', 'worker', 'cache', 'db'][s % 5]}`,
      desired: target,
      deployed: behind ? older : target,
      sync: behind || drifted ? 'OutOfSync' : 'Synced',
      health: degraded ? 'Degraded' : 'Healthy',
      ...(drifted ? { reason: 'service app: environment.LOG_LEVEL differs from the desired state (live "debug", desired "info")', worstKind: 'config-drift', worstSeverity: 'warning' as const } : {}),
      findings: drifted ? 2 : 0,
      ...(s === 3 ? { pin: 'v1.4.1' } : {}),
      last: { action: behind ? 'rollback' : 'deploy', result: 'succeeded', at: now, ...(behind ? { message: 'health gate: app did not become healthy within 120s; rolled back to v1.4.1' } : {}) },
    };
  });
  return {
    schemaVersion: 1,
    host,
    kind,
    sentAt: now,
    version: '0.1.0',
    target,
    lastRun: { at: now, ok: true, durationMs: 1800 + (index % 400) },
    stacks: rows,
  };
}

/** utime + stime of a process in ms, and its RSS in bytes, from /proc. */
function procSample(pid: number): { cpuMs: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  return { cpuMs: (ticks * 1000) / 100, rss };
}

/** Nearest-rank percentiles (every figure is a real sample). */
function percentiles(samples: readonly number[]): { n: number; median: number; p95: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
  return { n: sorted.length, median: at(50), p95: at(95), p99: at(99), max: sorted.at(-1) ?? Number.NaN };
}

async function timed(url: string): Promise<{ ms: number; bytes: number; status: number }> {
  const t = performance.now();
  const r = await fetch(url, { headers: { authorization: `Bearer ${READ}` } });
  const body = await r.arrayBuffer();
  return { ms: performance.now() - t, bytes: body.byteLength, status: r.status };
}

async function renderTimes(base: string, reps: number): Promise<Record<string, { median: number; p95: number; bytes: number }>> {
  const out: Record<string, { median: number; p95: number; bytes: number }> = {};
  for (const [name, p] of [
    ['fleet page (default 200 rows)', '/'],
    ['fleet page (every host: ?limit=2000)', '/?limit=2000'],
    ['fleet page, status=problems', '/?status=problems&limit=2000'],
    ['/api/fleet (every host)', '/api/fleet'],
  ] as const) {
    const samples: number[] = [];
    let bytes = 0;
    for (let i = 0; i < reps; i += 1) {
      const r = await timed(base + p);
      if (r.status !== 200) throw new Error(`${p}: HTTP ${r.status}`);
      samples.push(r.ms);
      bytes = r.bytes;
    }
    const s = percentiles(samples);
    out[name] = { median: s.median, p95: s.p95, bytes };
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { hosts: { type: 'string' }, stacks: { type: 'string' }, minutes: { type: 'string' }, interval: { type: 'string' } }, strict: true });
  const hosts = positiveInt(values.hosts, 1000, '--hosts');
  const stacks = positiveInt(values.stacks, 20, '--stacks');
  const minutes = positiveInt(values.minutes, 3, '--minutes');
  const intervalMs = positiveInt(values.interval, 15, '--interval') * 1000;
  const command = `npm run bench:hub -- --hosts ${hosts} --stacks ${stacks} --minutes ${minutes} --interval ${intervalMs / 1000}`;
  const loadStart = loadAverage();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-bench-hub-'));
  const names = Array.from({ length: hosts }, (_, i) => `host-${String(i).padStart(4, '0')}`);
  writeFileSync(path.join(dir, 'agents.yaml'), names.map((h) => `${h}: ${tokenOf(h)}\n`).join(''), { mode: 0o600 });
  writeFileSync(path.join(dir, 'read.token'), `${READ}\n`, { mode: 0o600 });
  writeFileSync(
    path.join(dir, 'hub.yaml'),
    `hubServer:\n  readTokenFile: ${path.join(dir, 'read.token')}\n  agentTokensFile: ${path.join(dir, 'agents.yaml')}\n  silentAfter: 15m\n  stragglerGrace: 30m\n`,
  );
  const bin = path.join(REPO_ROOT, 'bin', 'driftd.js'); // `npm run bench:hub` builds dist/ first
  const hub = await startHubProcess({ bin, config: path.join(dir, 'hub.yaml'), dataDir: path.join(dir, 'data'), port: await freePort(), home: dir });
  const pid = hub.child.pid!;
  const stopAll = async (): Promise<void> => {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    const docBytes = Buffer.byteLength(JSON.stringify(documentOf(names[0]!, 0, stacks, 'cycle')));
    const codes = new Map<number | string, number>();
    const latencies: number[] = [];
    const post = async (i: number, kind: Report['kind']): Promise<void> => {
      const body = JSON.stringify(documentOf(names[i]!, i, stacks, kind));
      const t = performance.now();
      try {
        const r = await fetch(`${hub.base}/api/report`, { method: 'POST', headers: { authorization: `Bearer ${tokenOf(names[i]!)}`, 'content-type': 'application/json' }, body });
        await r.arrayBuffer();
        codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
        if (r.status === 202) latencies.push(performance.now() - t);
      } catch (e) {
        const k = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
        codes.set(k, (codes.get(k) ?? 0) + 1);
      }
    };

    // Every host reports once (50 at a time), so the fleet holds hosts × stacks before anything is measured.
    log(`hub pid ${pid} at ${hub.base}; ${hosts} hosts × ${stacks} stacks (${docBytes} bytes per document): first reports`);
    for (let i = 0; i < hosts; i += 50) await Promise.all(names.slice(i, i + 50).map((_, j) => post(i + j, 'cycle')));
    latencies.length = 0;
    codes.clear();
    const idle = procSample(pid);
    const idleRender = await renderTimes(hub.base, 5);

    log(`load: every host reports every ${intervalMs / 1000} s for ${minutes} min`);
    const start = performance.now();
    const cpu0 = procSample(pid).cpuMs;
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, procSample(pid).rss)), 500);
    const endAt = start + minutes * 60_000;
    const inflight = new Set<Promise<void>>();
    const timers = names.map((_, i) => {
      const fire = (): void => {
        if (performance.now() >= endAt) return;
        const p = post(i, i % 5 === 0 ? 'cycle' : 'heartbeat').finally(() => inflight.delete(p));
        inflight.add(p);
        timer = setTimeout(fire, intervalMs);
      };
      let timer = setTimeout(fire, Math.random() * intervalMs);
      return () => clearTimeout(timer);
    });
    // Midway, the page and the API while reports keep arriving.
    await new Promise((r) => setTimeout(r, (minutes * 60_000) / 2));
    const busyRender = await renderTimes(hub.base, 5);
    await new Promise((r) => setTimeout(r, Math.max(0, endAt - performance.now())));
    for (const stop of timers) stop();
    await Promise.all([...inflight]);
    clearInterval(sampler);
    const wallMs = performance.now() - start;
    const end = procSample(pid);
    const cpuMs = end.cpuMs - cpu0;
    const afterRender = await renderTimes(hub.base, 10);
    const lat = percentiles(latencies);
    const loadEnd = loadAverage();

    const lines = [
      `Command: \`${command}\` (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs, Node ${process.version}; load average (1/5/15 min) at start ${loadStart.join(' / ')}, at end ${loadEnd.join(' / ')}).`,
      '',
      '| what | figure |',
      '| --- | --- |',
      `| fleet | ${hosts} hosts × ${stacks} stacks, ${docBytes} bytes per document |`,
      `| reports accepted (202) | ${latencies.length} in ${fmtMs(wallMs)} (${(latencies.length / (wallMs / 1000)).toFixed(1)}/s); other answers: ${[...codes].filter(([k]) => k !== 202).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'} |`,
      `| ingest latency (POST → 202, client side) | median ${fmtMs(lat.median)}, p95 ${fmtMs(lat.p95)}, p99 ${fmtMs(lat.p99)}, max ${fmtMs(lat.max)} |`,
      `| hub CPU during the load | ${fmtMs(cpuMs)} in ${fmtMs(wallMs)} = ${((cpuMs / wallMs) * 100).toFixed(1)} % of one core |`,
      `| hub RSS | ${fmtMb(idle.rss)} after the first ${hosts} reports, peak ${fmtMb(peakRss)} under load, ${fmtMb(end.rss)} at the end |`,
      ...Object.keys(afterRender).map(
        (k) => `| ${k}: median (p95) | idle ${fmtMs(idleRender[k]!.median)} (${fmtMs(idleRender[k]!.p95)}), under load ${fmtMs(busyRender[k]!.median)} (${fmtMs(busyRender[k]!.p95)}), after ${fmtMs(afterRender[k]!.median)} (${fmtMs(afterRender[k]!.p95)}); ${fmtMb(afterRender[k]!.bytes)} |`,
      ),
    ];
    const md = `${lines.join('\n')}\n`;
    const results = path.join(REPO_ROOT, 'bench', 'results');
    mkdirSync(results, { recursive: true });
    writeFileSync(path.join(results, 'hub.md'), md);
    writeFileSync(
      path.join(results, 'hub.json'),
      `${JSON.stringify({ command, hosts, stacks, minutes, intervalMs, docBytes, loadStart, loadEnd, accepted: latencies.length, wallMs, codes: Object.fromEntries(codes), latency: lat, cpuMs, rss: { idle: idle.rss, peak: peakRss, end: end.rss }, render: { idle: idleRender, busy: busyRender, after: afterRender } }, null, 2)}\n`,
    );
    process.stdout.write(md);
  } finally {
    await stopAll();
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`bench:hub failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
