/** Notifications (docs/design.md §11): the events, the message every channel formats, the channel settings. */
import { z } from 'zod';

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
  /** The status page, when `statusUrl` is configured. */
  link?: string;
}

/** One entry of `notifications:` in the config file. */
export const notificationSchema = z
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
  })
  .strict()
  .refine((n) => (n.urlEnv === undefined) !== (n.urlFile === undefined), { message: 'set exactly one of urlEnv and urlFile (the URL is a secret)' })
  .refine((n) => n.type === 'webhook' || (n.secretEnv === undefined && n.secretFile === undefined), { message: 'secretEnv/secretFile are for type: webhook only' });
export type NotificationInput = z.infer<typeof notificationSchema>;
