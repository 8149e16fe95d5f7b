import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ZodError } from 'zod';
import { configError, DriftdError, describeError } from '../errors/index.js';
import { isDriftdEnvName } from '../util/child-env.js';
import { parseDuration } from '../util/duration.js';
import { yamlDepthExcess } from '../util/yaml-depth.js';
import { toSyncWindow, type SyncWindow } from '../windows/index.js';
import type { SecurityPolicyInput } from '../policy/schema.js';
import type { ChannelSetting, NotificationInput } from '../notify/model.js';
import { composeCommandSchema, configFileSchema, type ConfigFile } from './schema.js';
import { secretSetting, type SecretSetting } from './secret-setting.js';

export type RefPolicy =
  | { kind: 'tag'; tag: string }
  /**
   * `prefix` undefined: no prefix was set, and a leading "v" is optional ("1.2.0" and "v1.2.0"
   * both count, as in Flux and Argo CD). A set prefix ("" included) must match exactly.
   */
  | { kind: 'semver'; range: string; prefix?: string }
  | { kind: 'branch'; branch: string }
  /** Nothing configured: the highest semver tag (optional "v" prefix) if the repo has one, else HEAD. */
  | { kind: 'auto' };

export interface GitAuth {
  username?: string;
  password?: string;
}

export interface ResolvedConfig {
  /** URL (http/https) or absolute path of a local Git repository. */
  repo: string;
  repoIsLocal: boolean;
  /** True when driftd runs from a checkout with no --repo: the embedded default. */
  embedded: boolean;
  dataDir: string;
  auditDir: string;
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  ref: RefPolicy;
  envDir: string;
  exportRetention: number;
  /** Mode of runtime export folders (files: the same bits without execute); `exportMode`, default 0o700. */
  exportMode: number;
  gitAuth?: GitAuth;
  gitTimeoutMs: number;
  composeCommand: 'auto' | 'docker compose' | 'docker-compose';
  composeTimeoutMs: number;
  /** `compose.passEnv`: variables Compose runs with besides its allowlist (src/util/child-env.ts). */
  composePassEnv: string[];
  /** Variables holding driftd's credentials (Git token/password, webhook secret): never given to Compose or interpolation. */
  privateEnvNames: string[];
  dockerHost?: string;
  schedule: string;
  jitterMs: number;
  intervalMs?: number;
  healthTimeoutMs: number;
  outdatedCheckIntervalMs: number;
  /** The agent's HTTP API; its secrets are checked when the agent starts (agent/http-settings.ts). */
  http: HttpConfig;
  /** Where the agent reports (docs/hub.md); absent: it reports nowhere. */
  hub?: HubClientConfig;
  /** `driftd hub`'s settings. */
  hubServer: HubServerConfig;
  validate: Required<NonNullable<ConfigFile['validate']>>;
  allowProcessEnv: boolean;
  /** The host's `policy:` (rules default to on, mode to warn). */
  policy: SecurityPolicyInput;
  /** Signed revisions (docs/design.md §9); `keys` resolved to absolute paths. */
  verify: { mode: 'off' | 'tag' | 'head' | 'tag-and-head'; keys: string[]; refuseMovedTags: boolean };
  configFile?: string;
  /** Host-wide sync windows, validated (cron, zone, duration). */
  windows: SyncWindow[];
  /** `notifications:`, secrets read but not checked: the agent refuses to start on a problem, `validate` reports it (src/notify/channels.ts). */
  notifications: ChannelSetting[];
  /** `statusUrl`: the link in notifications. */
  statusUrl?: string;
}

export interface HubClientConfig {
  url: string;
  token?: SecretSetting;
  heartbeatMs: number;
  /** `hub.timeout`: per report request. */
  timeoutMs: number;
  /** Absolute path of `hub.caFile`. */
  caFile?: string;
}

export interface HubServerConfig {
  listen: string;
  /** A file path (SQLite); default `<data-dir>/hub.db`. */
  database: string;
  readToken?: SecretSetting;
  agentTokensFile?: string;
  silentAfterMs: number;
  stragglerGraceMs: number;
  historyPerHost: number;
  /** Absolute paths of `hubServer.tls`; absent: plain http. */
  tls?: { certFile: string; keyFile: string };
}

export interface HttpConfig {
  listen?: string;
  /** Guards every read endpoint (GET /status, and /metrics and the page to come). */
  readToken?: SecretSetting;
  /** Guards POST /webhook and POST /sync (Bearer or X-Hub-Signature-256). */
  webhookSecret?: SecretSetting;
  /** Guards POST /approve/<stack> (to come); accepted and checked now. */
  writeToken?: SecretSetting;
  /** GET /metrics without a token (`http.metrics: open`). */
  metricsOpen?: boolean;
}

function optionalSecret<K extends string>(key: K, setting: SecretSetting | undefined): Partial<Record<K, SecretSetting>> {
  return setting ? ({ [key]: setting } as Record<K, SecretSetting>) : {};
}

function resolveHttp(env: NodeJS.ProcessEnv, http: ConfigFile['http'] = {}): HttpConfig {
  const readToken = secretSetting('http.readToken', env, http.readTokenEnv, http.readTokenFile);
  const webhookSecret = secretSetting('http.webhookSecret', env, http.webhookSecretEnv, http.webhookSecretFile);
  const writeToken = secretSetting('http.writeToken', env, http.writeTokenEnv, http.writeTokenFile);
  return {
    ...(http.listen ? { listen: http.listen } : {}),
    ...(readToken ? { readToken } : {}),
    ...(webhookSecret ? { webhookSecret } : {}),
    ...(writeToken ? { writeToken } : {}),
    ...(http.metrics === 'open' ? { metricsOpen: true } : {}),
  };
}

function resolveNotification(env: NodeJS.ProcessEnv, n: NotificationInput, i: number): ChannelSetting {
  const name = `notifications[${i}]`;
  const secret = secretSetting(`${name}.secret`, env, n.secretEnv, n.secretFile);
  return {
    name,
    type: n.type,
    url: secretSetting(`${name}.url`, env, n.urlEnv, n.urlFile),
    ...(secret ? { secret } : {}),
    ...(n.events ? { events: n.events } : {}),
    ...(n.stacks ? { stacks: n.stacks } : {}),
    ...(n.minInterval !== undefined ? { minIntervalMs: parseDuration(n.minInterval, `${name}.minInterval`) } : {}),
    ...(n.timeout !== undefined ? { timeoutMs: parseDuration(n.timeout, `${name}.timeout`) } : {}),
  };
}

/** Flags as parsed by the CLI; every field optional. */
export interface GlobalFlags {
  config?: string;
  dataDir?: string;
  repo?: string;
  host?: string;
  logLevel?: string;
  refTag?: string;
  refSemver?: string;
  tagPrefix?: string;
  refBranch?: string;
  auditDir?: string;
}

export interface ResolveOptions {
  flags: GlobalFlags;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const DEFAULT_CONFIG_FILE = '/etc/driftd/config.yaml';

function formatZodIssue(err: ZodError): { key: string; reason: string } {
  const issue = err.issues[0];
  if (!issue) return { key: '(root)', reason: 'invalid' };
  if (issue.code === 'unrecognized_keys') {
    const parent = issue.path.join('.');
    const keys = issue.keys.map((k) => (parent ? `${parent}.${k}` : k));
    return { key: keys.join(', '), reason: 'unknown key' };
  }
  return { key: issue.path.join('.') || '(root)', reason: issue.message };
}

export function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DriftdError('ConfigError', `cannot read config file ${file}: ${describeError(e)}`, { file });
  }
  const deep = yamlDepthExcess(text);
  if (deep) throw new DriftdError('ConfigError', `config file ${file}:${deep.line}: YAML nested deeper than ${deep.limit} levels; refused`, { file, line: deep.line });
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100, uniqueKeys: true }) ?? {};
  } catch (e) {
    throw new DriftdError('ConfigError', `config file ${file} is not valid YAML: ${describeError(e)}`, { file });
  }
  const parsed = configFileSchema().safeParse(raw);
  if (!parsed.success) {
    const { key, reason } = formatZodIssue(parsed.error);
    throw configError(key, reason, file);
  }
  return parsed.data;
}

function pick<T>(...values: (T | undefined)[]): T | undefined {
  return values.find((v) => v !== undefined && v !== '');
}

function isUrl(repo: string): boolean {
  return /^https?:\/\//i.test(repo);
}

function readSecret(env: NodeJS.ProcessEnv, envName: string | undefined, file: string | undefined): string | undefined {
  if (envName && env[envName]) return env[envName];
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new DriftdError('ConfigError', `cannot read secret file ${file}: ${describeError(e)}`, { file });
    }
  }
  return undefined;
}

function resolveRef(flags: GlobalFlags, env: NodeJS.ProcessEnv, file: ConfigFile): RefPolicy {
  const tag = pick(flags.refTag, env.DRIFTD_REF_TAG, file.ref?.tag);
  const semver = pick(flags.refSemver, env.DRIFTD_REF_SEMVER, file.ref?.semver);
  const branch = pick(flags.refBranch, env.DRIFTD_REF_BRANCH, file.ref?.branch);
  // An explicit empty prefix (`--tag-prefix ''`, `tagPrefix: ""`) means "exactly no prefix"; an
  // empty environment variable means unset, as with every other DRIFTD_* variable.
  const prefix = [flags.tagPrefix, env.DRIFTD_TAG_PREFIX || undefined, file.ref?.tagPrefix].find((v) => v !== undefined);
  const chosen = [tag, semver, branch].filter((v) => v !== undefined);
  if (chosen.length > 1) {
    throw new DriftdError('UsageError', 'choose one ref policy: --ref-tag, --ref-semver or --ref-branch');
  }
  if (tag) return { kind: 'tag', tag };
  if (semver) return { kind: 'semver', range: semver, ...(prefix !== undefined ? { prefix } : {}) };
  if (branch) return { kind: 'branch', branch };
  return { kind: 'auto' };
}

function resolveComposeCommand(env: NodeJS.ProcessEnv, file: ConfigFile): ResolvedConfig['composeCommand'] {
  const fromEnv = env.DRIFTD_COMPOSE_COMMAND;
  if (fromEnv === undefined || fromEnv === '') return file.compose?.command ?? 'auto';
  const parsed = composeCommandSchema().safeParse(fromEnv);
  if (!parsed.success) {
    throw new DriftdError(
      'UsageError',
      `DRIFTD_COMPOSE_COMMAND must be one of ${composeCommandSchema().options.map((o) => `"${o}"`).join(', ')}, got "${fromEnv}"`,
    );
  }
  return parsed.data;
}

/** Key paths are relative to the config file's folder; verification on with no key is a config error, not a silent refusal of everything. */
function resolveVerify(file: ConfigFile, configPath: string | undefined, cwd: string): ResolvedConfig['verify'] {
  const mode = file.verify?.mode ?? 'off';
  const base = configPath ? path.dirname(path.resolve(cwd, configPath)) : cwd;
  const raw = file.verify?.keys;
  const keys = (raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]).map((k) => path.resolve(base, k));
  if (mode !== 'off' && keys.length === 0) throw configError('verify.keys', `verify.mode ${mode} needs at least one key file or folder`, configPath);
  return { mode, keys, refuseMovedTags: file.refuseMovedTags ?? false };
}

export function resolveConfig(opts: ResolveOptions): ResolvedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const flags = opts.flags;

  const configPath = pick(flags.config, env.DRIFTD_CONFIG) ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  const file: ConfigFile = configPath ? readConfigFile(configPath) : {};

  const repoSetting = pick(flags.repo, env.DRIFTD_REPO, file.repo);
  const embedded = repoSetting === undefined;
  const repo = embedded ? cwd : isUrl(repoSetting) ? repoSetting : path.resolve(cwd, repoSetting);
  const repoIsLocal = !isUrl(repo);

  const dataDir = path.resolve(cwd, pick(flags.dataDir, env.DRIFTD_DATA_DIR, file.dataDir) ?? (embedded ? '.driftd' : '/var/lib/driftd'));
  const auditDir = path.resolve(
    cwd,
    pick(flags.auditDir, env.DRIFTD_AUDIT_DIR, file.auditDir) ?? (embedded ? 'audit' : path.join(dataDir, 'audit')),
  );

  const logLevel = pick(flags.logLevel, env.DRIFTD_LOG_LEVEL, file.logLevel) ?? 'info';
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  if (!(levels as readonly string[]).includes(logLevel)) {
    throw new DriftdError('UsageError', `--log-level must be one of ${levels.join(', ')}, got "${logLevel}"`);
  }

  const git = file.git ?? {};
  const token = readSecret(env, git.tokenEnv ?? 'DRIFTD_GIT_TOKEN', git.tokenFile ?? env.DRIFTD_GIT_TOKEN_FILE);
  const password = readSecret(env, git.passwordEnv ?? 'DRIFTD_GIT_PASSWORD', git.passwordFile ?? env.DRIFTD_GIT_PASSWORD_FILE);
  const username = pick(env.DRIFTD_GIT_USERNAME, git.username);
  let gitAuth: GitAuth | undefined;
  if (token) gitAuth = { username: username ?? 'driftd', password: token };
  else if (password || username) gitAuth = { username: username ?? '', password: password ?? '' };

  const notifyEnv = (file.notifications ?? []).flatMap((n) => [n.urlEnv, n.secretEnv]);
  const httpSecretEnv = [file.http?.webhookSecretEnv, file.http?.readTokenEnv, file.http?.writeTokenEnv, file.hub?.tokenEnv, file.hubServer?.readTokenEnv, ...notifyEnv].filter((n): n is string => n !== undefined);
  const privateEnvNames = [git.tokenEnv ?? 'DRIFTD_GIT_TOKEN', git.passwordEnv ?? 'DRIFTD_GIT_PASSWORD', ...httpSecretEnv];
  const composePassEnv = file.compose?.passEnv ?? [];
  for (const name of composePassEnv) {
    if (isDriftdEnvName(name) || privateEnvNames.includes(name)) {
      throw configError('compose.passEnv', `${name} holds driftd's own configuration or credentials and is never passed to Compose`, configPath);
    }
  }

  const dur = (v: string | number | undefined, fallback: string, what: string): number => parseDuration(v ?? fallback, what);
  const intervalSetting = pick<string | number>(env.DRIFTD_INTERVAL, file.interval);

  return {
    repo,
    repoIsLocal,
    embedded,
    dataDir,
    auditDir,
    host: pick(flags.host, env.DRIFTD_HOST, file.host) ?? os.hostname(),
    logLevel: logLevel as ResolvedConfig['logLevel'],
    ref: resolveRef(flags, env, file),
    envDir: path.resolve(cwd, pick(env.DRIFTD_ENV_DIR, file.envDir) ?? path.join(dataDir, 'env')),
    exportRetention: file.exportRetention ?? 200,
    exportMode: file.exportMode === undefined ? 0o700 : parseInt(file.exportMode, 8),
    ...(gitAuth ? { gitAuth } : {}),
    gitTimeoutMs: dur(git.timeout, '30s', 'git.timeout'),
    composeCommand: resolveComposeCommand(env, file),
    composeTimeoutMs: dur(file.compose?.timeout, '10m', 'compose.timeout'),
    composePassEnv,
    privateEnvNames,
    ...(pick(env.DOCKER_HOST, file.docker?.host) ? { dockerHost: pick(env.DOCKER_HOST, file.docker?.host) } : {}),
    schedule: pick(env.DRIFTD_SCHEDULE, file.schedule) ?? '0 * * * *',
    jitterMs: dur(file.jitter, '5m', 'jitter'),
    ...(intervalSetting !== undefined ? { intervalMs: parseDuration(intervalSetting, 'interval') } : {}),
    healthTimeoutMs: dur(file.healthTimeout, '120s', 'healthTimeout'),
    outdatedCheckIntervalMs: dur(file.outdatedCheckInterval, '6h', 'outdatedCheckInterval'),
    http: resolveHttp(env, file.http),
    ...(file.hub
      ? {
          hub: {
            url: file.hub.url.replace(/\/+$/, ''),
            ...optionalSecret('token', secretSetting('hub.token', env, file.hub.tokenEnv, file.hub.tokenFile)),
            heartbeatMs: dur(file.hub.heartbeat, '5m', 'hub.heartbeat'),
            timeoutMs: Math.min(60_000, Math.max(100, dur(file.hub.timeout, '15s', 'hub.timeout'))),
            ...(file.hub.caFile ? { caFile: path.resolve(cwd, file.hub.caFile) } : {}),
          },
        }
      : {}),
    hubServer: {
      listen: file.hubServer?.listen ?? '127.0.0.1:9798',
      database: path.resolve(cwd, file.hubServer?.database ?? path.join(dataDir, 'hub.db')),
      ...optionalSecret('readToken', secretSetting('hubServer.readToken', env, file.hubServer?.readTokenEnv, file.hubServer?.readTokenFile)),
      ...(file.hubServer?.agentTokensFile ? { agentTokensFile: path.resolve(cwd, file.hubServer.agentTokensFile) } : {}),
      silentAfterMs: dur(file.hubServer?.silentAfter, '15m', 'hubServer.silentAfter'),
      stragglerGraceMs: dur(file.hubServer?.stragglerGrace, '30m', 'hubServer.stragglerGrace'),
      historyPerHost: file.hubServer?.historyPerHost ?? 100,
      ...(file.hubServer?.tls ? { tls: { certFile: path.resolve(cwd, file.hubServer.tls.certFile), keyFile: path.resolve(cwd, file.hubServer.tls.keyFile) } } : {}),
    },
    validate: {
      latest: file.validate?.latest ?? true,
      privileged: file.validate?.privileged ?? true,
      hostBindMounts: file.validate?.hostBindMounts ?? true,
      hostNetwork: file.validate?.hostNetwork ?? true,
      maxFileBytes: file.validate?.maxFileBytes ?? 1024 * 1024,
    },
    allowProcessEnv: file.allowProcessEnv ?? false,
    windows: (file.windows ?? []).map((w, i) => toSyncWindow(w, `windows[${i}]`)),
    notifications: (file.notifications ?? []).map((n, i) => resolveNotification(env, n, i)),
    ...(file.statusUrl ? { statusUrl: file.statusUrl } : {}),
    policy: file.policy ?? {},
    verify: resolveVerify(file, configPath, cwd),
    ...(configPath ? { configFile: configPath } : {}),
  };
}
