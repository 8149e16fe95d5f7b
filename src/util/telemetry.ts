/**
 * Counters that deep code (the Git client, the Compose runner) reports without knowing who
 * listens: the agent's metrics subscribe; a CLI run has no listener and pays one array check.
 * Labels are bounded here, at the source, so no caller can put a message or a path in one.
 */
export type GitRequestType = 'refs' | 'fetch';
export type CallResult = 'ok' | 'error' | 'timeout';

export interface TelemetrySink {
  gitRequest?(type: GitRequestType, result: CallResult): void;
  composeRun?(command: ComposeCommand, result: CallResult): void;
  /** A YAML document parsed (compose files, fleet.yaml): a no-change run with a stored verdict parses none. */
  yamlParse?(): void;
}

/** The Compose subcommands driftd runs; anything else is counted as `other`. */
export const COMPOSE_COMMANDS = ['up', 'pull', 'down', 'exec', 'ps', 'config', 'version', 'other'] as const;
export type ComposeCommand = (typeof COMPOSE_COMMANDS)[number];

const sinks = new Set<TelemetrySink>();

/** Subscribes; returns the unsubscribe function. */
export function addTelemetrySink(sink: TelemetrySink): () => void {
  sinks.add(sink);
  return () => sinks.delete(sink);
}

export function recordGitRequest(type: GitRequestType, result: CallResult): void {
  for (const s of sinks) s.gitRequest?.(type, result);
}

/** The first argument that is not a flag names the subcommand. */
export function composeCommandOf(args: readonly string[]): ComposeCommand {
  const first = args.find((a) => !a.startsWith('-'));
  return (COMPOSE_COMMANDS as readonly string[]).includes(first ?? '') ? (first as ComposeCommand) : 'other';
}

export function recordComposeRun(args: readonly string[], result: CallResult): void {
  if (sinks.size === 0) return;
  const command = composeCommandOf(args);
  for (const s of sinks) s.composeRun?.(command, result);
}

export function recordYamlParse(): void {
  for (const s of sinks) s.yamlParse?.();
}
