import { dict, isPlainObject, own } from '../util/dict.js';
import { z } from 'zod';
import { dictOf } from '../util/dict-schema.js';
import { securityPolicySchema } from '../policy/schema.js';
import type { StackPolicy } from './model.js';
import { composeError } from './errors.js';
import { STACK_NAME_RE } from './safe-fs.js';
import { schemaError } from './schema-error.js';
import { lineOfPath, parseYamlFile, yamlToJs, type YamlFile } from './yaml-file.js';
import { parseDuration } from '../util/duration.js';
import { checkSchema, DEFAULT_CHECKS_TIMEOUT_MS } from '../checks/model.js';
import { syncWindowSchema, toSyncWindow } from '../windows/index.js';
import { describeError } from '../errors/index.js';

export const FLEET_FILE = 'fleet.yaml';

const stackName = z.string().regex(STACK_NAME_RE, 'must be a stack name matching ^[a-z0-9][a-z0-9_-]{0,62}$');
const duration = z.union([z.string().min(1), z.number().nonnegative()]);

const policySchema = z
  .object({
    sync: z.enum(['auto', 'manual', 'off']).optional(),
    prune: z.boolean().optional(),
    selfHeal: z.boolean().optional(),
    healthTimeout: duration.optional(),
    rollbackOnFailure: z.boolean().optional(),
    /** The stack's own windows: they govern this stack only, so they take no `stacks` filter. */
    windows: z.array(syncWindowSchema().omit({ stacks: true })).optional(),
    checks: z.array(checkSchema).optional(),
    checksTimeout: duration.optional(),
    policy: securityPolicySchema().optional(),
    /** Who runs the stack: Compose on this host (default) or the Swarm this host manages (docs/swarm.md). */
    engine: z.enum(['compose', 'swarm']).optional(),
  })
  .strict();

export const fleetSchema = z
  .object({
    hosts: dictOf(z.string().min(1), z.array(stackName).nullable()).optional(),
    stacks: dictOf(stackName, policySchema.nullable()).optional(),
    /** The hosts that are Swarm managers: only their agents consider `engine: swarm` stacks. */
    swarm: z.object({ managers: z.array(z.string().min(1)).min(1) }).strict().optional(),
  })
  .strict();

export const DEFAULT_POLICY: StackPolicy = { sync: 'auto', prune: false, selfHeal: false, healthTimeoutMs: 120_000, rollbackOnFailure: true };

export interface Fleet {
  /** undefined: no `hosts:` (or no fleet.yaml) — every stack goes to every host. */
  hosts?: Record<string, string[]>;
  policies: Record<string, StackPolicy>;
  /** `swarm.managers`: hosts whose agents consider `engine: swarm` stacks. */
  swarmManagers?: string[];
  /** fleet.yaml line of each `stacks.<name>.engine: swarm`, for errors about it. */
  swarmLines?: Record<string, number>;
}

/**
 * Settings that guard the host against the repo (signature verification, docs/design.md §9): a revision
 * must not be able to switch off the check that decides whether it may run, so fleet.yaml may
 * not set them at all, at the top or per stack — not even to the host's own value.
 */
const HOST_ONLY_KEYS = ['verify', 'refuseMovedTags'] as const;

function refuseHostOnlyKeys(raw: unknown, y: YamlFile): void {
  if (!isPlainObject(raw)) return;
  const places: (string | number)[][] = [[]];
  if (isPlainObject(raw.stacks)) for (const [name, p] of Object.entries(raw.stacks)) if (isPlainObject(p)) places.push(['stacks', name]);
  for (const place of places) {
    const obj = place.reduce<unknown>((o, k) => (isPlainObject(o) ? o[k] : undefined), raw);
    for (const key of HOST_ONLY_KEYS) {
      if (!isPlainObject(obj) || !Object.prototype.hasOwnProperty.call(obj, key)) continue;
      const where = [...place, key];
      const line = lineOfPath(y, where);
      throw composeError('SchemaError', `${where.join('.')}: "${key}" is a host setting (driftd's config file); fleet.yaml cannot set or weaken it`, {
        file: FLEET_FILE,
        ...(line !== undefined ? { line } : {}),
      });
    }
  }
}

/** Parses fleet.yaml (strict: an unknown key is an error naming the file, key and line). */
export function parseFleet(text: string): Fleet {
  const y = parseYamlFile(text, FLEET_FILE);
  const raw = yamlToJs(y) ?? {};
  refuseHostOnlyKeys(raw, y);
  const parsed = fleetSchema.safeParse(raw);
  if (!parsed.success) throw schemaError(parsed.error, FLEET_FILE, (p) => lineOfPath(y, p));
  const policies = dict<StackPolicy>();
  for (const [name, p] of Object.entries(parsed.data.stacks ?? {})) {
    // A value that zod cannot judge (a duration's text, a cron, a zone) fails with the file and line.
    const checked = <T>(key: (string | number)[], fn: () => T): T => {
      try {
        return fn();
      } catch (e) {
        const line = lineOfPath(y, ['stacks', name, ...key]);
        throw composeError('SchemaError', describeError(e), { file: FLEET_FILE, ...(line !== undefined ? { line } : {}) });
      }
    };
    const healthTimeout = p?.healthTimeout;
    const checksTimeout = p?.checksTimeout;
    policies[name] = {
      sync: p?.sync ?? DEFAULT_POLICY.sync,
      prune: p?.prune ?? DEFAULT_POLICY.prune,
      selfHeal: p?.selfHeal ?? DEFAULT_POLICY.selfHeal,
      healthTimeoutMs: healthTimeout === undefined ? DEFAULT_POLICY.healthTimeoutMs : checked(['healthTimeout'], () => parseDuration(healthTimeout, `stacks.${name}.healthTimeout`)),
      rollbackOnFailure: p?.rollbackOnFailure ?? DEFAULT_POLICY.rollbackOnFailure,
      ...(p?.windows?.length ? { windows: p.windows.map((w, i) => checked(['windows', i], () => toSyncWindow({ ...w, stacks: [name] }, `stacks.${name}.windows[${i}]`))) } : {}),
      ...(p?.checks?.length ? { checks: p.checks } : {}),
      ...(p?.checks?.length || checksTimeout !== undefined
        ? { checksTimeoutMs: checksTimeout === undefined ? DEFAULT_CHECKS_TIMEOUT_MS : checked(['checksTimeout'], () => parseDuration(checksTimeout, `stacks.${name}.checksTimeout`)) }
        : {}),
      ...(p?.policy ? { security: p.policy } : {}),
      ...(p?.engine === 'swarm' ? { engine: 'swarm' as const } : {}),
    };
  }
  const fleet: Fleet = { policies };
  const swarmLines = dict<number>();
  for (const [name, p] of Object.entries(policies)) if (p.engine === 'swarm') swarmLines[name] = lineOfPath(y, ['stacks', name, 'engine']) ?? 1;
  if (Object.keys(swarmLines).length > 0) fleet.swarmLines = swarmLines;
  if (parsed.data.swarm) fleet.swarmManagers = [...parsed.data.swarm.managers];
  if (parsed.data.hosts) fleet.hosts = dict(Object.entries(parsed.data.hosts).map(([h, list]) => [h, list ?? []]));
  return fleet;
}

export function policyFor(fleet: Fleet | undefined, stack: string): StackPolicy {
  return own(fleet?.policies, stack) ?? { ...DEFAULT_POLICY };
}

/** Stack names declared for `host` (its own list plus "*"), sorted; undefined means "every stack". */
export function stacksForHost(fleet: Fleet | undefined, host: string): string[] | undefined {
  if (!fleet?.hosts) return undefined;
  const names = new Set([...(own(fleet.hosts, host) ?? []), ...(own(fleet.hosts, '*') ?? [])]);
  return [...names].sort();
}
