/** What the page renders: plain data, built by source.ts and scrubbed before any HTML is made. */
import type { Finding } from '../drift/model.js';
import type { Operation } from '../state/index.js';

export interface RevisionView {
  commit: string;
  ref?: string;
}

export interface SignerView {
  /** Which object carried the signature: the annotated tag or the commit. */
  object: 'tag' | 'commit';
  kind: 'openpgp' | 'ssh';
  fingerprint: string;
  principal?: string;
}

export interface PageHeader {
  host: string;
  version: string;
  /** The tracked ref policy in words ("highest semver tag", "tag v1.2.0", "branch main"). */
  refPolicy: string;
  target?: RevisionView;
  targetError?: string;
  /**
   * Who signed the target revision (design §9), absent with verification off: the verified
   * objects' signers once the target was verified and deployed, the refusal when it was refused,
   * or `unverified` while the agent has not verified it yet.
   */
  signature?: { state: 'verified'; signers: SignerView[] } | { state: 'refused'; message: string } | { state: 'unverified' };
  lastPoll?: { at: string; ok: boolean; error?: string; durationMs: number };
  nextPoll?: string;
  busy: boolean;
  pins: { stack?: string; tag: string; commit: string; by: string; at: string }[];
  windows: { kind: string; schedule: string; durationMs: number; timezone: string; stacks: string[] }[];
  generatedAt: string;
}

export interface StackRow {
  name: string;
  desired?: RevisionView;
  deployed?: RevisionView;
  sync: string;
  health: string;
  reason?: string;
  worst?: Finding;
  findingCount: number;
  last?: { action: string; result: string; at: string; message?: string };
  /** The revision a `sync: manual` stack waits to have approved. */
  pending?: string;
  pin?: string;
}

export interface Overview {
  header: PageHeader;
  stacks: StackRow[];
  unmanaged: Finding[];
  /** Why live drift could not be evaluated (the rows then show what the last sync recorded). */
  driftError?: string;
}

export interface ContainerView {
  name: string;
  service?: string;
  image: string;
  imageId: string;
  digests: string[];
  state: string;
  health: string;
  revision?: string;
  createdAt: string;
}

export interface StackDetail {
  header: PageHeader;
  row: StackRow;
  findings: Finding[];
  driftError?: string;
  containers: ContainerView[];
  history: Operation[];
  /** The newest failed operation with a deploy log, among the rows shown. */
  failure?: Operation;
}

export interface HistoryFilter {
  stack?: string;
  action?: string;
  result?: string;
  trigger?: string;
  limit: number;
}

export interface HistoryView {
  header: PageHeader;
  filter: HistoryFilter;
  rows: Omit<Operation, 'output'>[];
  /** Distinct values seen, for the filter drop-downs. */
  stacks: string[];
}

/** Everything the routes ask of the agent; agent/daemon.ts builds it, tests build fixtures. */
export interface PageSource {
  overview(): Promise<Overview>;
  stack(name: string): Promise<StackDetail | undefined>;
  history(filter: HistoryFilter): Promise<HistoryView>;
  /** Approves the pending revision of a `sync: manual` stack, then queues a reconcile. */
  approve(stack: string, revision: string | undefined, actor: string): Promise<{ revision: string }>;
}
