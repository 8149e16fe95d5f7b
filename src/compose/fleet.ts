import { dict, own } from '../util/dict.js';
import { z } from 'zod';
import type { StackPolicy } from './model.js';
import { composeError } from './errors.js';
import { STACK_NAME_RE } from './safe-fs.js';
import { schemaError } from './schema-error.js';
import { lineOfPath, parseYamlFile, yamlToJs } from './yaml-file.js';
import { parseDuration } from '../util/duration.js';

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
  })
  .strict();

export const fleetSchema = z
  .object({
    hosts: z.record(z.string().min(1), z.array(stackName).nullable()).optional(),
    stacks: z.record(stackName, policySchema.nullable()).optional(),
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
    let healthTimeoutMs = DEFAULT_POLICY.healthTimeoutMs;
    if (p?.healthTimeout !== undefined) {
      try {
        healthTimeoutMs = parseDuration(p.healthTimeout, `stacks.${name}.healthTimeout`);
      } catch (e) {
        const line = lineOfPath(y, ['stacks', name, 'healthTimeout']);
        throw composeError('SchemaError', (e as Error).message, { file: FLEET_FILE, ...(line !== undefined ? { line } : {}) });
      }
    }
    policies[name] = {
      sync: p?.sync ?? DEFAULT_POLICY.sync,
      prune: p?.prune ?? DEFAULT_POLICY.prune,
      selfHeal: p?.selfHeal ?? DEFAULT_POLICY.selfHeal,
      healthTimeoutMs,
      rollbackOnFailure: p?.rollbackOnFailure ?? DEFAULT_POLICY.rollbackOnFailure,
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
