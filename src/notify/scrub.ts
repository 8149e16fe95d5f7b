/**
 * The one place notification text passes through before it is stored or sent. It uses
 * util/redact's scrubText with the secrets driftd knows (channel URLs and keys, HTTP and Git
 * tokens) and hides the password of any `scheme://user:password@host` URL. When the one
 * project-wide scrubber (util/scrub.ts, issue 11) lands, this function calls it instead.
 */
import { redactValue, scrubText } from '../util/redact.js';

const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'`]*:)([^\s/@"'`]+)@/gi;

export function scrubNotificationText(text: string, secrets: readonly string[]): string {
  const known = scrubText(text, secrets);
  return known.includes('://') ? known.replace(URL_PASSWORD, (_m, lead: string, pw: string) => `${lead}${/^sha256:[0-9a-f]{12}$/.test(pw) ? pw : redactValue(pw)}@`) : known;
}
