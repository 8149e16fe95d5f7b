/** Notifications (docs/design.md §11): the events, the message every channel formats, the channel settings. */
import { z } from 'zod';
import { lazy } from '../util/lazy.js';

export const EVENT_TYPES = [
  'sync-succeeded',
  'sync-failed',
  'rolled-back',
  'drift-detected',
  'drift-resolved',
  'approval-needed',
  'revision-refused',
  'source-unreachable',
  'source-recovered',
  'health-degraded',
  'health-recovered',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const CHANNEL_TYPES = ['webhook', 'slack', 'discord', 'teams', 'ntfy', 'gotify', 'apprise'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** The generic webhook's body, and what every other channel formats. Bump SCHEMA_VERSION on an incompatible change. */
export const SCHEMA_VERSION = 1;

export interface NotificationEvent {
  schemaVersion: typeof SCHEMA_VERSION;
  /** Unique per event; a receiver that saw this id already has this event (redelivery after a restart). */
  id: string;
  event: EventType;
  host: string;
  stack?: string;
  /** The commit the event is about. */
  revision?: string;
  /** Its tag, when it has one. */
  tag?: string;
  /** One sentence for people: what changed and why. */
  message: string;
  /** ISO 8601, UTC. */
  time: string;
  /** The status page, when `statusUrl` is configured in the host config. */
  link?: string;
}

/** One entry of `notifications:` in the config file. */
export const notificationSchema = lazy(() =>
  z
    .object({
      type: z.enum(CHANNEL_TYPES),
      /** The URL is a secret (it carries the token of most services): from a variable or a file, never inline. */
      urlEnv: z.string().min(1).optional(),
      urlFile: z.string().min(1).optional(),
      /** webhook only: the HMAC key of `X-Driftd-Signature-256`. */
      secretEnv: z.string().min(1).optional(),
      secretFile: z.string().min(1).optional(),
      events: z.array(z.enum(EVENT_TYPES)).min(1).optional(),
      stacks: z.array(z.string().min(1)).min(1).optional(),
      /** At least this long between two messages to this channel; events due meanwhile go out as one digest (default: 10s, webhook 0). */
      minInterval: z.union([z.string().min(1), z.number().nonnegative()]).optional(),
      /** Per request, connect to last byte (default 10s). */
      timeout: z.union([z.string().min(1), z.number().nonnegative()]).optional(),
    })
    .strict()
    .refine((n) => (n.urlEnv === undefined) !== (n.urlFile === undefined), { message: 'set exactly one of urlEnv and urlFile (the URL is a secret)' })
    .refine((n) => n.type === 'webhook' || (n.secretEnv === undefined && n.secretFile === undefined), { message: 'secretEnv/secretFile are for type: webhook only' }),
);
export type NotificationInput = z.infer<ReturnType<typeof notificationSchema>>;

/** A secret named by `<key>Env`/`<key>File`, as the config resolved it (config/secret-setting.ts has the same shape). */
export interface SecretValue {
  key: string;
  value?: string;
  problem?: string;
}

/** One `notifications:` entry as the host config resolved it (durations parsed, secrets read, not yet checked). */
export interface ChannelSetting {
  /** `notifications[<index>]`, for messages. */
  name: string;
  type: ChannelType;
  url: SecretValue | undefined;
  secret?: SecretValue;
  events?: EventType[];
  stacks?: string[];
  minIntervalMs?: number;
  timeoutMs?: number;
}

/** A channel ready to deliver to. `key` names it in the outbox, status and logs without its URL. */
export interface Channel {
  key: string;
  name: string;
  type: ChannelType;
  url: string;
  secret?: string;
  events?: ReadonlySet<EventType>;
  stacks?: ReadonlySet<string>;
  minIntervalMs: number;
  timeoutMs: number;
}
