/**
 * `driftd validate`: lints a desired-state tree on disk (a working directory, not a Git
 * revision) — layout, compose schema, what the loader refuses, policy, conflicts between stacks
 * of one host, committed secrets, lock files — and returns every finding instead of stopping at
 * the first.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { discoverComposeFiles } from '../compose/discover.js';
import { FLEET_FILE } from '../compose/fleet.js';
import { isValidStackName } from '../compose/safe-fs.js';
import { DriftdError } from '../errors/index.js';
import type { SecurityPolicyInput } from '../policy/schema.js';
import { composeSchema } from './compose-schema.js';
import { conflictFindings } from './conflicts.js';
import { finding } from './finding.js';
import { checkFleet, hostGroups } from './fleet-check.js';
import { checkLocks } from './lock-check.js';
import type { ValidateFinding, ValidateResult } from './model.js';
import { policyFindings, type ValidateConfig } from './policy.js';
import { scanFolder, stackFolders, type RepoFile } from './repo-files.js';
import { isEnvFile, scanEnvFileSecrets, scanForSecrets } from './secrets.js';
import { checkStack, type LoadedStack } from './stack-check.js';
import { swarmFindings } from './swarm.js';

export interface ValidateRepoOptions {
  /** The desired-state tree: a directory with stacks/ (and optionally locks/, fleet.yaml). */
  root: string;
  config: ValidateConfig;
  /** The host's `policy:` (config file); fleet.yaml's per-stack `policy:` is read from the tree. */
  policy?: SecurityPolicyInput;
  /** Check conflicts only among the stacks of this host (default: every host fleet.yaml names). */
  hostFilter?: string;
}

/** Findings without repeats: the first report of a kind at a file and line wins. */
class FindingSet {
  private readonly byKey = new Map<string, ValidateFinding>();

  add(findings: readonly ValidateFinding[]): void {
    for (const f of findings) {
      const key = `${f.kind}\0${f.file}\0${f.line ?? ''}`;
      if (!this.byKey.has(key)) this.byKey.set(key, f);
    }
  }

  sorted(): ValidateFinding[] {
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    return [...this.byKey.values()].sort(
      (a, b) => cmp(a.file, b.file) || (a.line ?? 0) - (b.line ?? 0) || cmp(a.kind, b.kind) || cmp(a.message, b.message),
    );
  }
}

function assertTree(root: string): string[] {
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new DriftdError('RepoNotFound', `${root} does not exist or is not a directory; give driftd validate the path of a desired-state repo checkout`, { root });
  const folders = stackFolders(root);
  if (folders === undefined) throw new DriftdError('RepoNotFound', `${root} has no stacks/ folder; give driftd validate the root of a desired-state repo`, { root });
  return folders;
}

/** A present compose file that Compose's precedence ignores (e.g. docker-compose.yml next to compose.yaml). */
function ignoredComposeFiles(stack: string, files: ReadonlySet<string>): ValidateFinding[] {
  const prefix = `stacks/${stack}`;
  const discovery = discoverComposeFiles((name) => files.has(`${prefix}/${name}`));
  return (discovery?.ignored ?? []).map((name) =>
    finding('compose-file-ignored', 'warning', `${prefix}/${name}`, undefined, `ignored: ${discovery?.files.map((f) => `${prefix}/${f}`).join(' and ') ?? ''} take precedence; delete this file or merge it into them`),
  );
}

function secretFindings(files: readonly RepoFile[], fleetText: string | undefined): ValidateFinding[] {
  const out: ValidateFinding[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f.abs, 'utf8');
    } catch {
      continue; // an unreadable file fails its stack's load, which reports it
    }
    out.push(...scanForSecrets(text, f.rel));
    if (f.rel.startsWith('stacks/') && isEnvFile(f.rel)) out.push(...scanEnvFileSecrets(text, f.rel));
  }
  if (fleetText !== undefined) out.push(...scanForSecrets(fleetText, FLEET_FILE));
  return out;
}

/** Lints the tree at `root`. Throws (exit 1) only when `root` is not a desired-state tree at all. */
export async function validateRepo(opts: ValidateRepoOptions): Promise<ValidateResult> {
  const root = path.resolve(opts.root);
  const folders = assertTree(root);
  const schema = await composeSchema();
  const maxBytes = opts.config.maxFileBytes;
  const stackNames = new Set(folders);
  const findings = new FindingSet();

  // The tolerant walk first: it reports every bad symlink and oversized file, the loader only its first.
  const files: RepoFile[] = [];
  for (const prefix of [...folders.map((n) => `stacks/${n}`), 'locks']) {
    const scan = scanFolder(root, prefix, maxBytes);
    findings.add(scan.findings);
    files.push(...scan.files);
  }
  const fileSet = new Set(files.map((f) => f.rel));

  const fleet = checkFleet(root, maxBytes, stackNames);
  findings.add(fleet.findings);
  findings.add(checkLocks(root, maxBytes, stackNames));

  const loaded: LoadedStack[] = [];
  for (const name of folders) {
    const check = checkStack(root, name, maxBytes, schema);
    findings.add(check.findings);
    if (check.loaded) loaded.push(check.loaded);
    findings.add(ignoredComposeFiles(name, fileSet));
  }
  const fleetPolicies = fleet.fleet?.policies;
  for (const l of loaded) {
    const own = fleetPolicies && Object.hasOwn(fleetPolicies, l.stack.name) ? fleetPolicies[l.stack.name]?.security : undefined;
    findings.add(policyFindings(l, opts.config, opts.policy, own));
    if (fleetPolicies && Object.hasOwn(fleetPolicies, l.stack.name) && fleetPolicies[l.stack.name]?.engine === 'swarm') findings.add(swarmFindings(l));
  }
  // An invalid fleet.yaml leaves the host selection unknown: conflicts would be guesses.
  if (fleet.valid) findings.add(conflictFindings(loaded, hostGroups(fleet.fleet, folders.filter(isValidStackName), opts.hostFilter)));
  findings.add(secretFindings(files, fleet.text));

  const sorted = findings.sorted();
  const count = (s: ValidateFinding['severity']) => sorted.filter((f) => f.severity === s).length;
  return {
    schemaVersion: 1,
    root,
    findings: sorted,
    summary: { stacks: folders.length, findings: sorted.length, bySeverity: { error: count('error'), warning: count('warning') } },
    exitCode: sorted.length > 0 ? 2 : 0,
  };
}
