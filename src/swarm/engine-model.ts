/**
 * The parts of the Engine's Swarm answers driftd reads (`/info`'s Swarm, `/nodes/<id>`,
 * `/services`, `/tasks`, `/configs`, `/secrets`), validated at the boundary. Unknown fields pass
 * through untouched; a missing optional field is "not set", never a crash.
 */
import { z } from 'zod';
import { dict, isPlainObject } from '../util/dict.js';

/**
 * Labels as a prototype-less map of own keys: z.record copies into a plain `{}`, where a label
 * named `__proto__` (a hand `docker service update --label-add __proto__=x`) is lost, so drift
 * could not name it.
 */
const labels = z.unknown().transform((v, ctx): Record<string, string> => {
  if (v === null || v === undefined) return dict();
  if (!isPlainObject(v)) {
    ctx.addIssue({ code: 'custom', message: 'labels must be a mapping' });
    return z.NEVER;
  }
  const out = dict<string>();
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') {
      ctx.addIssue({ code: 'custom', message: `label ${JSON.stringify(k)} must be a string` });
      return z.NEVER;
    }
    out[k] = value;
  }
  return out;
});

export const swarmInfoSchema = z
  .object({
    Swarm: z
      .object({
        NodeID: z.string().optional(),
        LocalNodeState: z.string().optional(),
        ControlAvailable: z.boolean().optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();
export type SwarmInfo = z.infer<typeof swarmInfoSchema>;

export const swarmNodeSchema = z
  .object({
    ID: z.string().optional(),
    ManagerStatus: z.object({ Leader: z.boolean().optional(), Reachability: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();
export type SwarmNode = z.infer<typeof swarmNodeSchema>;

const mountSchema = z
  .object({ Type: z.string().optional(), Source: z.string().optional(), Target: z.string(), ReadOnly: z.boolean().optional() })
  .passthrough();

const portSchema = z
  .object({ Protocol: z.string().optional(), TargetPort: z.number(), PublishedPort: z.number().optional(), PublishMode: z.string().optional() })
  .passthrough();

export const swarmServiceSchema = z
  .object({
    ID: z.string(),
    Spec: z
      .object({
        Name: z.string(),
        Labels: labels,
        TaskTemplate: z
          .object({
            ContainerSpec: z
              .object({
                Image: z.string().optional(),
                Labels: labels,
                Env: z.array(z.string()).nullish(),
                Mounts: z.array(mountSchema).nullish(),
                Healthcheck: z.object({ Test: z.array(z.string()).optional() }).passthrough().optional(),
              })
              .passthrough()
              .optional(),
          })
          .extend({ ForceUpdate: z.number().optional() })
          .passthrough()
          .optional(),
        Mode: z
          .object({ Replicated: z.object({ Replicas: z.number().optional() }).passthrough().optional(), Global: z.object({}).passthrough().optional() })
          .passthrough()
          .optional(),
        EndpointSpec: z.object({ Ports: z.array(portSchema).nullish() }).passthrough().optional(),
      })
      .passthrough(),
    UpdateStatus: z.object({ State: z.string().optional(), Message: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();
export type SwarmService = z.infer<typeof swarmServiceSchema>;

export const swarmTaskSchema = z
  .object({
    ID: z.string(),
    ServiceID: z.string(),
    Slot: z.number().optional(),
    NodeID: z.string().optional(),
    DesiredState: z.string().optional(),
    /** The task template the task was created from (a copy of the service's at that time). */
    Spec: z.object({ ContainerSpec: z.unknown().optional(), ForceUpdate: z.number().optional() }).passthrough().optional(),
    Status: z
      .object({ State: z.string().optional(), Message: z.string().optional(), Err: z.string().optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();
export type SwarmTask = z.infer<typeof swarmTaskSchema>;

export const swarmObjectSchema = z
  .object({ ID: z.string(), Spec: z.object({ Name: z.string(), Labels: labels }).passthrough() })
  .passthrough();
export type SwarmObject = z.infer<typeof swarmObjectSchema>;

export const swarmServicesSchema = z.array(swarmServiceSchema);
export const swarmTasksSchema = z.array(swarmTaskSchema);
export const swarmObjectsSchema = z.array(swarmObjectSchema);

/** One GET /services + one GET /tasks: what a reconcile knows of the Swarm. */
export interface SwarmLive {
  services: SwarmService[];
  tasks: SwarmTask[];
}
