import { z } from 'zod';

const duration = z.union([z.string().min(1), z.number().positive()]);

/** `json: {path: .version, equals: "${DRIFTD_TAG}"}`: a dotted path into the JSON body. */
const jsonMatch = z.object({ path: z.string().min(1), equals: z.union([z.string(), z.number(), z.boolean(), z.null()]) }).strict();

const common = {
  /** A short name for history and notifications; default: the URL, address or command. */
  name: z.string().min(1).max(100).optional(),
  /** Per attempt (default 5s). */
  timeout: duration.optional(),
};

export const httpCheckSchema = z
  .object({
    http: z.string().min(1),
    /** Default: any 2xx. */
    expectStatus: z.union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)]).optional(),
    bodyContains: z.string().optional(),
    bodyMatches: z.string().optional(),
    json: jsonMatch.optional(),
    /** https: a PEM file of CAs to trust instead of the system's, or no verification at all. */
    caFile: z.string().min(1).optional(),
    insecure: z.boolean().optional(),
    ...common,
  })
  .strict();

export const tcpCheckSchema = z.object({ tcp: z.string().min(1), ...common }).strict();

export const execCheckSchema = z
  .object({
    exec: z.object({ service: z.string().min(1), command: z.array(z.string()).min(1) }).strict(),
    ...common,
  })
  .strict();

export const checkSchema = z.union([httpCheckSchema, tcpCheckSchema, execCheckSchema]);

export type CheckSpec = z.infer<typeof checkSchema>;
export type HttpCheck = z.infer<typeof httpCheckSchema>;
export type TcpCheck = z.infer<typeof tcpCheckSchema>;
export type ExecCheck = z.infer<typeof execCheckSchema>;

export const DEFAULT_CHECKS_TIMEOUT_MS = 120_000;
export const DEFAULT_CHECK_TIMEOUT_MS = 5_000;
