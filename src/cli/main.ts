import { scrub } from '../util/scrub.js';
import { Command, CommanderError, Option } from 'commander';
import { describeError, isDriftdError } from '../errors/index.js';
import type { GlobalFlags } from '../config/resolve.js';
import { createContext, type Handler } from './context.js';
import { VERSION } from '../version.js';



function addGlobalOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'config file (YAML); env DRIFTD_CONFIG')
    .option('--data-dir <dir>', 'state and snapshot directory; env DRIFTD_DATA_DIR')
    .option('--repo <url|path>', 'desired-state Git repo; env DRIFTD_REPO (default: this checkout)')
    .option('--host <name>', 'host name used for fleet.yaml; env DRIFTD_HOST (default: hostname)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent; env DRIFTD_LOG_LEVEL')
    .option('--ref-tag <tag>', 'track a pinned tag')
    .option('--ref-semver <range>', 'track the highest tag matching a semver range')
    .option('--tag-prefix <prefix>', 'tag prefix for --ref-semver (e.g. v, main)')
    .option('--ref-branch <branch>', 'track a branch head (dev)')
    .option('--audit-dir <dir>', 'where runtime exports go; env DRIFTD_AUDIT_DIR');
}

function globalFlags(opts: Record<string, unknown>): GlobalFlags {
  const s = (k: string): string | undefined => (typeof opts[k] === 'string' ? (opts[k]) : undefined);
  const flags: GlobalFlags = {};
  const map: [keyof GlobalFlags, string][] = [
    ['config', 'config'],
    ['dataDir', 'dataDir'],
    ['repo', 'repo'],
    ['host', 'host'],
    ['logLevel', 'logLevel'],
    ['refTag', 'refTag'],
    ['refSemver', 'refSemver'],
    ['tagPrefix', 'tagPrefix'],
    ['refBranch', 'refBranch'],
    ['auditDir', 'auditDir'],
  ];
  for (const [key, opt] of map) {
    const v = s(opt);
    if (v !== undefined) flags[key] = v;
  }
  return flags;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface CommandSpec {
  name: string;
  args?: string;
  description: string;
  options?: (cmd: Command) => Command;
  load: () => Promise<Handler>;
}

const stackOption = (cmd: Command): Command => cmd.option('--stack <name>', 'limit to this stack (repeatable)', collect);

export const COMMANDS: CommandSpec[] = [
  {
    name: 'drift-check',
    description: 'compare desired vs live state; exit 0 in sync, 2 drift found, 1 could not evaluate',
    options: (c) => stackOption(c).option('--export', 'also write a runtime export').option('--checks', "also run the stacks' post-deploy checks (check-failed findings)").option('--json', 'JSON output').option('--markdown', 'Markdown output'),
    load: async () => (await import('./handlers/drift-check-handler.js')).handler,
  },
  {
    name: 'sync',
    description: 'reconcile now: apply changed stacks, health gate, rollback on failure',
    options: (c) =>
      stackOption(c)
        .option('--dry-run', 'print the plan, change nothing')
        .option('--force', 'retry a revision that failed before')
        .option('--allow-mass-prune', 'allow pruning every managed stack at once')
        .option('--ignore-windows', 'apply even where a sync window forbids it now (audited)')
        .option('--no-cache', 'forget the stored no-change verdicts: load and plan every stack')
        .option('--json', 'JSON output'),
    load: async () => (await import('./handlers/sync-handler.js')).handler,
  },
  {
    name: 'agent',
    description: 'run the long-running daemon (schedule, webhooks, HTTP API)',
    options: (c) => c.option('--interval <duration>', 'poll every duration instead of the cron schedule').option('--schedule <cron>', 'cron schedule (default "0 * * * *")'),
    load: async () => (await import('./handlers/agent-handler.js')).handler,
  },
  {
    name: 'rollback',
    args: '<tag>',
    description: 'pin the host (or one stack) to a previous tag and apply it now',
    options: (c) =>
      c
        .option('--stack <name>', 'pin only this stack')
        .option('--allow-unverified', 'deploy the tag even if it fails signature verification (audited)')
        .option('--json', 'JSON output'),
    load: async () => (await import('./handlers/pins-handler.js')).rollbackHandler,
  },
  {
    name: 'resume',
    description: 'remove a pin and track the ref policy again',
    options: (c) => c.option('--stack <name>', 'only this stack'),
    load: async () => (await import('./handlers/pins-handler.js')).resumeHandler,
  },
  {
    name: 'approve',
    args: '<stack>',
    description: 'let a sync: manual stack apply its pending revision',
    options: (c) => c.option('--revision <sha>', 'the revision to approve (default: the pending one)'),
    load: async () => (await import('./handlers/pins-handler.js')).approveHandler,
  },
  { name: 'status', description: 'per-stack desired/deployed revision, sync, health, pin, last sync', options: (c) => c.option('--json', 'JSON output'), load: async () => (await import('./handlers/status-handler.js')).handler },
  {
    name: 'history',
    description: 'operation history from the state database',
    options: (c) => c.option('--stack <name>', 'only this stack').option('--limit <n>', 'at most n rows', '50').option('--json', 'JSON output'),
    load: async () => (await import('./handlers/history-handler.js')).handler,
  },
  {
    name: 'lock',
    description: 'resolve image tags to digests and write locks/; --check only reports',
    options: (c) => stackOption(c).option('--check', 'report stale or outdated locks, write nothing').option('--offline', 'use local image digests when the registry is unreachable').option('--json', 'JSON output'),
    load: async () => (await import('./handlers/lock-handler.js')).handler,
  },
  { name: 'export', description: 'write a runtime export now', options: (c) => c.option('--json', 'JSON output'), load: async () => (await import('./handlers/export-handler.js')).handler },
  {
    name: 'render',
    description: 'print the resolved Compose model driftd would deploy (secrets redacted)',
    options: (c) => stackOption(c).option('--json', 'JSON output'),
    load: async () => (await import('./handlers/render-handler.js')).handler,
  },
  {
    name: 'hub',
    description: 'run the fleet hub: receives agents\' status, serves the fleet page and /api/fleet',
    options: (c) => c.option('--listen <addr>', 'host:port (default hubServer.listen, 127.0.0.1:9798)').option('--database <path>', 'SQLite file (default <data-dir>/hub.db)'),
    load: async () => (await import('./handlers/hub-handler.js')).handler,
  },
  {
    name: 'fleet',
    args: '<action>',
    description: 'fleet status --hub URL: the fleet as a table; exit 0 all synced, 2 out of sync or silent hosts, 1 error',
    options: (c) => c.option('--hub <url>', 'the hub URL (env DRIFTD_HUB_URL); the read token comes from DRIFTD_HUB_TOKEN').option('--ca-file <file>', 'PEM CA to trust for an https hub (env DRIFTD_HUB_CA_FILE)').option('--json', 'JSON output'),
    load: async () => (await import('./handlers/fleet-handler.js')).handler,
  },
  {
    name: 'validate',
    args: '[path]',
    description: 'lint a desired-state repo; exit 0 clean, 2 findings, 1 error',
    options: (c) => c.option('--json', 'JSON output'),
    load: async () => (await import('./handlers/validate-handler.js')).handler,
  },
];

export function buildProgram(run: (spec: CommandSpec, opts: Record<string, unknown>, args: string[]) => Promise<void>): Command {
  const program = new Command('driftd')
    .description('GitOps drift-and-sync agent for Docker Compose hosts')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run `driftd --help` for usage)')
    .exitOverride();
  for (const spec of COMMANDS) {
    const cmd = addGlobalOptions(new Command(spec.name).description(spec.description).exitOverride());
    if (spec.args) cmd.arguments(spec.args);
    (spec.options ?? ((c: Command) => c))(cmd);
    cmd.addOption(new Option('--no-color', 'plain output').hideHelp());
    cmd.action(async (...actionArgs: unknown[]) => {
      const command = actionArgs[actionArgs.length - 1] as Command;
      const positional = actionArgs.slice(0, -2).filter((a): a is string => typeof a === 'string');
      await run(spec, command.opts(), positional);
    });
    program.addCommand(cmd);
  }
  return program;
}

/** Runs the CLI and returns the exit code. Never throws; never prints a stack unless --log-level debug. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let exitCode = 0;
  let debug = env.DRIFTD_LOG_LEVEL === 'debug' || env.DRIFTD_LOG_LEVEL === 'trace';
  const program = buildProgram(async (spec, opts, args) => {
    const flags = globalFlags(opts);
    if (flags.logLevel === 'debug' || flags.logLevel === 'trace') debug = true;
    const ctx = createContext(flags, env);
    const handler = await spec.load();
    exitCode = await handler(ctx, opts, args);
  });
  if (argv.length === 0) {
    process.stdout.write(program.helpInformation());
    return 1;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end in a CommanderError with exit code 0.
      return e.exitCode === 0 ? 0 : 1;
    }
    process.stderr.write(scrub(`driftd: ${describeError(e)}\n`));
    if (debug && e instanceof Error && e.stack) process.stderr.write(scrub(`${e.stack}\n`));
    return isDriftdError(e) ? e.exitCode : 1;
  }
}
