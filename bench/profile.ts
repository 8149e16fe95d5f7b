/**
 * Where a driftd process spends its time: runs it under `node --cpu-prof` and condenses the
 * .cpuprofile into the top functions by self time, the driftd functions that cost the most
 * (their own time plus the library code they call), and self time per package or driftd file.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST_DIR, REPO_ROOT } from './driftd.js';

const DIST_URL = `${pathToFileURL(DIST_DIR).href}/`;

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  /** "reconcile (dist/sync/reconcile.js:142)" */
  name: string;
  ms: number;
}

export interface ProfileSummary {
  totalMs: number;
  topSelf: ProfileEntry[];
  /** driftd's functions (dist/) by the time spent in them and in the library code they call. */
  topDriftd: ProfileEntry[];
  /** Self time per npm package, driftd file, node internals, GC… */
  byLocation: ProfileEntry[];
}

function shortUrl(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) return file.slice(nm + '/node_modules/'.length);
  return file.startsWith(REPO_ROOT) ? file.slice(REPO_ROOT.length) : file;
}

function location(frame: CallFrame): string {
  const file = shortUrl(frame.url);
  if (!file) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (file.startsWith('node:')) return 'node: internals';
  const nm = /^(@[^/]+\/[^/]+|[^/]+)\//.exec(file);
  if (frame.url.includes('/node_modules/') && nm) return nm[1]!;
  return file;
}

function label(frame: CallFrame): string {
  const file = shortUrl(frame.url);
  const fn = frame.functionName || '(anonymous)';
  return file ? `${fn} (${file}:${frame.lineNumber + 1})` : fn;
}

function top(map: Map<string, number>, count: number): ProfileEntry[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10 }));
}

const add = (map: Map<string, number>, key: string, us: number): void => {
  map.set(key, (map.get(key) ?? 0) + us);
};

export function summarizeProfile(profile: CpuProfile, count = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i + 1] is the time until the next sample: what sample i stood for.
  const mean = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length);
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? mean)));

  const self = new Map<string, number>();
  const where = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    add(self, label(frame), us);
    add(where, location(frame), us);
  }

  // Every sample goes to the innermost driftd function on its stack: library calls count for the
  // driftd function that made them (parseYamlFile includes the yaml parser), driftd callees do not.
  const driftd = new Map<string, number>();
  const walk = (id: number, owner: string | undefined): void => {
    const node = byId.get(id)!;
    const mine = node.callFrame.url.startsWith(DIST_URL) ? label(node.callFrame) : owner;
    if (mine) add(driftd, mine, selfUs.get(id) ?? 0);
    for (const child of node.children ?? []) walk(child, mine);
  };
  const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
  for (const n of profile.nodes) if (!childIds.has(n.id)) walk(n.id, undefined);

  return { totalMs: Math.round((profile.endTime - profile.startTime) / 1000), topSelf: top(self, count), topDriftd: top(driftd, count), byLocation: top(where, count) };
}

/** Runs `run(nodeArgs)` with --cpu-prof into a new folder under `parent` and summarizes the profile it wrote. */
export async function profiled<T>(parent: string, run: (nodeArgs: string[]) => Promise<T>): Promise<{ result: T; profile: ProfileSummary }> {
  const dir = mkdtempSync(path.join(parent, 'cpu-prof-'));
  try {
    const result = await run(['--cpu-prof', '--cpu-prof-dir', dir]);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('node --cpu-prof wrote no profile');
    return { result, profile: summarizeProfile(JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
