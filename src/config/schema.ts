import { z } from 'zod';
import { lazy } from '../util/lazy.js';
import { syncWindowSchema } from '../windows/model.js';
import { securityPolicySchema } from '../policy/schema.js';
import { notificationSchema } from '../notify/model.js';

const duration = lazy(() => z.union([z.string().min(1), z.number().nonnegative()]));

/** compose.command / DRIFTD_COMPOSE_COMMAND: force one Compose CLI, or detect ("auto"). */
export const composeCommandSchema = lazy(() => z.enum(['auto', 'docker compose', 'docker-compose']));

export const refPolicySchema = lazy(() =>
  z
    .object({
      tag: z.string().min(1).optional(),
      semver: z.string().min(1).optional(),
      tagPrefix: z.string().optional(),
      branch: z.string().min(1).optional(),
    })
    .strict(),
);

export const configFileSchema = lazy(() =>
  z
    .object({
      repo: z.string().min(1).optional(),
      dataDir: z.string().min(1).optional(),
      auditDir: z.string().min(1).optional(),
      host: z.string().min(1).optional(),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
      ref: refPolicySchema().optional(),
      /** Directory of host-local env files (`<envDir>/<stack>.env`), never committed to Git. */
      envDir: z.string().min(1).optional(),
      exportRetention: z.number().int().min(1).optional(),
      /** Mode of runtime export folders as an octal string ("0750"); files get the same bits without execute. Default "0700". */
      exportMode: z
        .string()
        .regex(/^0?[0-7]{3}$/, 'an octal mode such as "0700" or "0750"')
        .refine((m) => (parseInt(m, 8) & 0o700) === 0o700, 'the owner (driftd) needs rwx: use 07xx')
        .optional(),
      git: z
        .object({
          username: z.string().optional(),
          tokenEnv: z.string().optional(),
          tokenFile: z.string().optional(),
          passwordEnv: z.string().optional(),
          passwordFile: z.string().optional(),
          timeout: duration().optional(),
        })
        .strict()
        .optional(),
      compose: z
        .object({
          command: composeCommandSchema().optional(),
          timeout: duration().optional(),
          /** Variables of driftd's environment Compose may see besides PATH, HOME, DOCKER_* and proxies. */
          passEnv: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a variable name')).optional(),
        })
        .strict()
        .optional(),
      docker: z.object({ host: z.string().optional() }).strict().optional(),
      schedule: z.string().min(1).optional(),
      jitter: duration().optional(),
      interval: duration().optional(),
      healthTimeout: duration().optional(),
      outdatedCheckInterval: duration().optional(),
      http: z
        .object({
          listen: z.string().min(1).optional(),
          readTokenEnv: z.string().min(1).optional(),
          readTokenFile: z.string().min(1).optional(),
          webhookSecretEnv: z.string().min(1).optional(),
          webhookSecretFile: z.string().min(1).optional(),
          writeTokenEnv: z.string().min(1).optional(),
          writeTokenFile: z.string().min(1).optional(),
          /** GET /metrics: `token` (default, the read token like /status) or `open` (a scrape without a token, e.g. on loopback). */
          metrics: z.enum(['token', 'open']).optional(),
        })
        .strict()
        .optional(),
      /** Where this agent reports its status (docs/hub.md): the hub's URL and this host's token. */
      hub: z
        .object({
          url: z.string().regex(/^https?:\/\/[^\s]+$/i, 'an http:// or https:// URL'),
          tokenEnv: z.string().min(1).optional(),
          tokenFile: z.string().min(1).optional(),
          /** How often an idle agent re-sends its status (default 5m). */
          heartbeat: duration().optional(),
          /** Per report request, connect to last byte (default 15s, at most 60s): a hub that hangs is cut then. */
          timeout: duration().optional(),
          /** PEM file of a CA to trust for an https hub (e.g. a private CA or the hub's self-signed certificate), besides the system's. */
          caFile: z.string().min(1).optional(),
        })
        .strict()
        .optional(),
      /** `driftd hub`'s own settings (docs/hub.md); flags override them. */
      hubServer: z
        .object({
          listen: z.string().min(1).optional(),
          database: z.string().min(1).optional(),
          readTokenEnv: z.string().min(1).optional(),
          readTokenFile: z.string().min(1).optional(),
          /** YAML map `<host>: <token>`: the only tokens that may report, each for its own host. */
          agentTokensFile: z.string().min(1).optional(),
          /** A host with no report for this long is silent (default 15m: three missed heartbeats). */
          silentAfter: duration().optional(),
          /** How long after a new target appears a host not synced on it is a straggler (default 30m). */
          stragglerGrace: duration().optional(),
          /** Reports kept per host (default 100). */
          historyPerHost: z.number().int().min(1).max(100_000).optional(),
          /** Serve https with this certificate (PEM, chain allowed) and key (PEM); absent: plain http. */
          tls: z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) }).strict().optional(),
        })
        .strict()
        .optional(),
      validate: z
        .object({
          latest: z.boolean().optional(),
          privileged: z.boolean().optional(),
          hostBindMounts: z.boolean().optional(),
          hostNetwork: z.boolean().optional(),
          maxFileBytes: z.number().int().positive().optional(),
        })
        .strict()
        .optional(),
      allowProcessEnv: z.boolean().optional(),
      /** Host-wide sync windows (docs/design.md §11); fleet.yaml can add per-stack ones. */
      windows: z.array(syncWindowSchema()).optional(),
      /** The host's security policy (docs/design.md §8); fleet.yaml may tighten it per stack, never loosen it. */
      policy: securityPolicySchema().optional(),
      /** Signed revisions (docs/design.md §9): host config only, fleet.yaml cannot weaken it. */
      verify: z
        .object({
          mode: z.enum(['off', 'tag', 'head', 'tag-and-head']).optional(),
          keys: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
        })
        .strict()
        .optional(),
      refuseMovedTags: z.boolean().optional(),
      /** Notification channels (docs/notifications.md); their URLs are secrets, read from env/file. */
      notifications: z.array(notificationSchema()).optional(),
      /** The status page's address as people reach it: the link in every notification. */
      statusUrl: z.string().url().optional(),
    })
    .strict(),
);

export type ConfigFile = z.infer<ReturnType<typeof configFileSchema>>;
export type RefPolicyInput = z.infer<ReturnType<typeof refPolicySchema>>;
