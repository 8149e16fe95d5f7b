/**
 * Scenario 4: a desired-state repo with a long history (5,000 commits, 500 tags), built in one
 * `git fast-import` run straight into a bare repo served by the loopback Git server, then polled
 * with driftd's Git source: the first poll (clone), polls with no new tag, and polls right after
 * a new tag was pushed. Requests and bytes come from the server's own counters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { RefPolicy } from '../src/config/resolve.js';
import { createGitSource } from '../src/source/index.js';
import { execFileCapture } from '../src/util/exec.js';
import type { GitServer, ServedRepo } from '../test/support/git-server.js';
import { GIT_ENV } from './naive.js';

export interface HistoryShape {
  commits: number;
  tags: number;
  stacks: number;
}

export interface PollSample {
  wallMs: number;
  requests: number;
  /** e.g. { "info/refs": 1 } or { "info/refs": 1, "git-upload-pack fetch": 1 } */
  byKind: Record<string, number>;
  requestBytes: number;
  responseBytes: number;
}

export interface GitPollResult {
  shape: HistoryShape;
  buildMs: number;
  firstPoll: PollSample;
  noNewTag: PollSample[];
  newTag: PollSample[];
}

const POLICY: RefPolicy = { kind: 'semver', range: '>=1.0.0', prefix: 'v' };
const EPOCH = 1_700_000_000;

/** fast-import's `data` command counts bytes, not characters. */
const data = (text: string): string => `data ${Buffer.byteLength(text)}\n${text}\n`;

function commitHeader(ref: string, mark: number, second: number, message: string): string {
  return `commit ${ref}\nmark :${mark}\ncommitter driftd bench <bench@driftd.invalid> ${EPOCH + second} +0000\n${data(message)}`;
}

const stackName = (i: number): string => `svc-${String(i).padStart(3, '0')}`;
const envFile = (commit: number): string => `REVISION=${commit}\n`;

/** Commit 1 adds every stack; each later commit edits one stack's .env; every (commits/tags)-th commit is tagged. */
export function historyStream(shape: HistoryShape): string {
  const parts: string[] = [];
  const every = Math.max(1, Math.floor(shape.commits / shape.tags));
  let tag = 0;
  for (let c = 1; c <= shape.commits; c++) {
    parts.push(commitHeader('refs/heads/main', c, c, `commit ${c}\n`));
    if (c === 1) {
      for (let s = 0; s < shape.stacks; s++) {
        const name = stackName(s);
        parts.push(`M 100644 inline stacks/${name}/compose.yaml\n${data(`services:\n  app:\n    image: busybox:1.36\n    command: ["sleep", "3600"]\n    env_file: .env\n`)}`);
        parts.push(`M 100644 inline stacks/${name}/.env\n${data(envFile(c))}`);
      }
    } else {
      parts.push(`M 100644 inline stacks/${stackName(c % shape.stacks)}/.env\n${data(envFile(c))}`);
    }
    parts.push('\n');
    if (c % every === 0 && tag < shape.tags) parts.push(`reset refs/tags/v1.${tag++}.0\nfrom :${c}\n\n`);
  }
  return parts.join('');
}

export async function fastImport(repoPath: string, stream: string): Promise<void> {
  const r = await execFileCapture('git', ['fast-import', '--quiet'], { cwd: repoPath, env: { ...GIT_ENV, GIT_DIR: repoPath }, input: stream });
  if (r.code !== 0) throw new Error(`git fast-import failed: ${r.stderr}`);
}

/** One more commit on main, tagged v1.<tag>.0 (above every existing tag). */
export async function pushNewTag(repo: ServedRepo, shape: HistoryShape, n: number): Promise<void> {
  const commit = shape.commits + n;
  const stream =
    commitHeader('refs/heads/main', 1, commit, `commit ${commit}\n`) +
    `from refs/heads/main^0\nM 100644 inline stacks/${stackName(commit % shape.stacks)}/.env\n${data(envFile(commit))}\n` +
    `reset refs/tags/v1.${shape.tags - 1 + n}.0\nfrom :1\n\n`;
  await fastImport(repo.path, stream);
}

/** The server's requests for one repo by kind: { "info/refs": 1, "git-upload-pack fetch": 1 }. */
export function requestKinds(server: GitServer, repoName: string): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const r of server.requests) {
    if (r.repo !== repoName) continue;
    const kind = r.command ? `${r.service} ${r.command}` : r.service;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

/** `workDir`: where driftd's data dir for the polls goes (removed afterwards). */
export async function benchGitPolls(server: GitServer, shape: HistoryShape, reps: number, workDir: string): Promise<GitPollResult> {
  const repo = await server.createRepo('history.git');
  const built = Date.now();
  await fastImport(repo.path, historyStream(shape));
  const buildMs = Date.now() - built;
  const dataDir = mkdtempSync(path.join(workDir, 'poll-data-'));
  try {
    const source = createGitSource({ repo: repo.url, dataDir, timeoutMs: 30_000 });
    const poll = async (): Promise<PollSample> => {
      server.resetStats();
      const started = process.hrtime.bigint();
      await source.poll(POLICY);
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const mine = server.requests.filter((r) => r.repo === repo.name);
      return {
        wallMs,
        requests: mine.length,
        byKind: requestKinds(server, repo.name),
        requestBytes: mine.reduce((n, r) => n + r.requestBytes, 0),
        responseBytes: mine.reduce((n, r) => n + r.responseBytes, 0),
      };
    };
    const firstPoll = await poll();
    const noNewTag: PollSample[] = [];
    for (let i = 0; i < reps; i++) noNewTag.push(await poll());
    const newTag: PollSample[] = [];
    for (let i = 1; i <= reps; i++) {
      await pushNewTag(repo, shape, i);
      newTag.push(await poll());
    }
    return { shape, buildMs, firstPoll, noNewTag, newTag };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
