import { dict, own } from '../util/dict.js';
import { z } from 'zod';
import { dictOf } from '../util/dict-schema.js';
import { securityPolicySchema } from '../policy/schema.js';
import type { StackPolicy } from './model.js';
import { composeError } from './errors.js';
import { STACK_NAME_RE } from './safe-fs.js';
import { schemaError } from './schema-error.js';
import { lineOfPath, parseYamlFile, yamlToJs } from './yaml-file.js';
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
    windows: z.array(syncWindowSchema.omit({ stacks: true })).optional(),
    checks: z.array(checkSchema).optional(),
    checksTimeout: duration.optional(),
    policy: securityPolicySchema.optional(),
  })
  .strict();

export const fleetSchema = z
  .object({
    hosts: dictOf(z.string().min(1), z.array(stackName).nullable()).optional(),
    stacks: dictOf(stackName, policySchema.nullable()).optional(),
  })
  .strict();

export const DEFAULT_POLICY: StackPolicy = { sync: 'auto', prune: false, selfHeal: false, healthTimeoutMs: 120_000, rollbackOnFailure: true };

export interface Fleet {
  /** undefined: no `hosts:` (or no fleet.yaml) — every stack goes to every host. */
  hosts?: Record<string, string[]>;
  policies: Record<string, StackPolicy>;
}

/** Parses fleet.yaml (strict: an unknown key is an error naming the file, key and line). */
export function parseFleet(text: string): Fleet {
  const y = parseYamlFile(text, FLEET_FILE);
  const raw = yamlToJs(y) ?? {};
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
    };
  }
  const fleet: Fleet = { policies };
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
