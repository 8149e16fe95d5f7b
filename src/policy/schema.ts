import { z } from 'zod';
import { lazy } from '../util/lazy.js';

/** The rules of docs/design.md §8, in the order they are reported. */
export const POLICY_RULES = ['privileged', 'capAdd', 'hostNetwork', 'hostPid', 'hostIpc', 'devices', 'dockerSocket', 'hostBindMounts'] as const;
export type PolicyRule = (typeof POLICY_RULES)[number];

/**
 * `policy:` in the config file and per stack in fleet.yaml. Each rule is on (checked) unless set
 * to false; `allowedHostPaths` lists host folders a bind mount may use under `hostBindMounts`.
 */
export const securityPolicySchema = lazy(() =>
  z
    .object({
      mode: z.enum(['warn', 'enforce']).optional(),
      privileged: z.boolean().optional(),
      capAdd: z.boolean().optional(),
      hostNetwork: z.boolean().optional(),
      hostPid: z.boolean().optional(),
      hostIpc: z.boolean().optional(),
      devices: z.boolean().optional(),
      dockerSocket: z.boolean().optional(),
      hostBindMounts: z.boolean().optional(),
      allowedHostPaths: z.array(z.string().regex(/^\//, 'must be an absolute path')).optional(),
    })
    .strict(),
);

export type SecurityPolicyInput = z.infer<ReturnType<typeof securityPolicySchema>>;
