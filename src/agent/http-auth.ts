/**
 * The HTTP API's guards (docs/design.md §10). Every read endpoint goes through `readGuard`; the webhook
 * endpoints through `webhookDecision`, which answers from the headers alone whenever it can, so
 * a request without the right secret is refused before any of its body is read.
 */
import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { bearerToken, secretEquals } from '../util/bearer.js';

export { bearerToken, secretEquals } from '../util/bearer.js';

export interface Denial {
  status: number;
  error: string;
}

/** The one check behind every read endpoint (GET /status today; /metrics and the page later). */
export function readGuard(token: string | undefined): (headers: IncomingHttpHeaders) => Denial | undefined {
  return (headers) => {
    if (token === undefined) {
      return { status: 403, error: 'read endpoints are closed: no read token is configured (http.readTokenEnv or http.readTokenFile)' };
    }
    const given = bearerToken(headers);
    if (given === undefined) return { status: 401, error: 'a read token is required: Authorization: Bearer <token>' };
    return secretEquals(given, token) ? undefined : { status: 401, error: 'the read token does not match' };
  };
}

export type WebhookDecision = { kind: 'accept' } | { kind: 'deny'; denial: Denial } | { kind: 'read-body'; signature: string };

/**
 * Decides a webhook from its headers: a configured secret is required (fail closed), a Bearer
 * token is checked right here, and only a request that carries an `X-Hub-Signature-256`
 * needs its body read (capped by the caller) for `signatureMatches`.
 */
export function webhookDecision(secret: string | undefined, headers: IncomingHttpHeaders): WebhookDecision {
  if (secret === undefined) {
    return { kind: 'deny', denial: { status: 403, error: 'webhooks are closed: no webhook secret is configured (http.webhookSecretEnv or http.webhookSecretFile)' } };
  }
  if (headers.authorization !== undefined) {
    const given = bearerToken(headers);
    if (given !== undefined && secretEquals(given, secret)) return { kind: 'accept' };
    return { kind: 'deny', denial: { status: 401, error: 'the webhook secret does not match' } };
  }
  const signature = headers['x-hub-signature-256'];
  if (typeof signature === 'string') return { kind: 'read-body', signature };
  return { kind: 'deny', denial: { status: 401, error: 'a webhook needs Authorization: Bearer <secret> or an X-Hub-Signature-256 header' } };
}

/** GitHub/Gitea-style `sha256=<hex HMAC of the body>`. */
export function signatureMatches(secret: string, signature: string, body: Buffer): boolean {
  return secretEquals(signature, `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
}
