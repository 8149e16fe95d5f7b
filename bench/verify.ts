/**
 * The cost of signature verification (issue 15): verifying a new signed target (no cached
 * verdict) per signature kind, and a no-change poll with verification on (verdict cached) vs
 * off. Local repo, in-process, median of N runs. Run: `node --import tsx bench/verify.ts [N]`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { targetVerifier } from '../src/commands/verify-target.js';
import { resolveConfig } from '../src/config/resolve.js';
import { createGitSource } from '../src/source/index.js';
import { openState } from '../src/state/index.js';
import { verifyRevision, type VerifySettings } from '../src/verify/index.js';
import { RepoBuilder } from '../test/support/repo-builder.js';
import { gpgKey, signingConfig, signingEnv, sshKey } from '../test/support/signing.js';

const N = Number(process.argv[2] ?? '30');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(2)} ms`;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const repo = await RepoBuilder.create();
repo.writeSimpleStack('edge').writeSimpleStack('app');
const keysDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-bench-keys-'));
const gpg = gpgKey();
const ed = sshKey('ed25519');
const rsa = sshKey('rsa');
writeFileSync(path.join(keysDir, 'release.asc'), gpg.publicKey);
writeFileSync(path.join(keysDir, 'allowed_signers'), `ops@example.test ${ed.pub}\nops@example.test ${rsa.pub}\n`);
const keys = [keysDir];
const tags: [string, Parameters<typeof signingConfig>[0]][] = [
  ['openpgp (ed25519)', gpg],
  ['ssh ed25519', ed],
  ['ssh rsa-3072', rsa],
];
const tagged: { label: string; tag: string; commit: string; object: string }[] = [];
let i = 0;
for (const [label, key] of tags) {
  i += 1;
  repo.signWith(signingConfig(key), signingEnv(key));
  repo.write('n', String(i));
  const commit = await repo.commit(`c${i}`, { sign: true });
  await repo.tag(`v1.${i}.0`, { signed: true });
  tagged.push({ label, tag: `v1.${i}.0`, commit, object: await repo.git('rev-parse', `v1.${i}.0`) });
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-bench-data-'));
const source = createGitSource({ repo: repo.dir, dataDir, timeoutMs: 10_000 });
const lines: string[] = [];

for (const t of tagged) {
  const settings: VerifySettings = { mode: 'tag-and-head', keys, refuseMovedTags: false };
  const target = { commit: t.commit, ref: t.tag, refKind: 'tag' as const, tagObject: t.object };
  const runs: number[] = [];
  for (let r = 0; r < N; r++) runs.push(await time(() => verifyRevision(settings, target, { readObject: (oid) => source.readObject(oid) })));
  lines.push(`| verify a new target, tag-and-head (tag + commit), ${t.label} | ${ms(median(runs))} |`);
}

// No-change poll: the same target every time; on = verification with the state DB's cached verdict.
const state = openState(dataDir);
const base = { flags: { repo: repo.dir, dataDir, host: 'h', config: '/dev/null' }, env: {} };
const cfgOff = resolveConfig(base);
const cfgOn = { ...cfgOff, verify: { mode: 'tag-and-head' as const, keys, refuseMovedTags: false } };
const policy = { kind: 'tag' as const, tag: tagged[1]!.tag };
const verifier = targetVerifier({ config: cfgOn, logger: (await import('../src/util/logger.js')).silentLogger, source, state });
await source.poll(policy, async (r) => void (await verifier.check(r)));
const off: number[] = [];
const on: number[] = [];
for (let r = 0; r < N * 3; r++) {
  off.push(await time(() => source.poll(policy)));
  on.push(await time(() => source.poll(policy, async (x) => void (await verifier.check(x)))));
}
// A new process (CLI run) has no in-memory memo: its check reads the key files and the cached verdict row.
const resolved = await source.resolve(policy);
const cli: number[] = [];
for (let r = 0; r < N * 3; r++) {
  const fresh = createGitSource({ repo: repo.dir, dataDir, timeoutMs: 10_000 });
  const v = targetVerifier({ config: cfgOn, logger: (await import('../src/util/logger.js')).silentLogger, source: fresh, state });
  cli.push(await time(() => v.check(resolved)));
}
lines.push(`| no-change poll (local repo: refs, resolve, snapshot reuse), verification off | ${ms(median(off))} |`);
lines.push(`| no-change poll, verify.mode tag-and-head, same process (agent: memo hit) | ${ms(median(on))} |`);
lines.push(`| the check alone in a new process (CLI: key files read + cached verdict rows) | ${ms(median(cli))} |`);
state.close();
console.log(`median of ${N} runs (polls: ${N * 3}), ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')}`);
console.log('| what | median |\n| --- | --- |');
console.log(lines.join('\n'));
rmSync(dataDir, { recursive: true, force: true });
rmSync(keysDir, { recursive: true, force: true });
repo.cleanup();
