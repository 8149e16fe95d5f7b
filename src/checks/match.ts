/**
 * Pure judgement of a post-deploy check's answer: status, body text, regex, a JSON path. The
 * `${DRIFTD_TAG}` / `${DRIFTD_REVISION}` variables are substituted first, so a check can prove
 * that the new version is the one answering.
 */
import type { HttpCheck } from './model.js';

export interface CheckVars {
  DRIFTD_TAG: string;
  DRIFTD_REVISION: string;
  DRIFTD_STACK: string;
}

/** Replaces `${DRIFTD_TAG}`, `${DRIFTD_REVISION}`, `${DRIFTD_STACK}`; anything else is left as written. */
export function substitute(text: string, vars: CheckVars): string {
  return text.replace(/\$\{(DRIFTD_TAG|DRIFTD_REVISION|DRIFTD_STACK)\}/g, (_m, name: keyof CheckVars) => vars[name]);
}

/** `.a.b[0].c`, `a.b.0`, `$.a`: the value at a dotted path, or `undefined` when any step is missing. */
export function jsonPath(value: unknown, path: string): unknown {
  const steps = path
    .replace(/^\$/, '')
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((s) => s !== '');
  let cur: unknown = value;
  for (const step of steps) {
    if (cur === null || typeof cur !== 'object') return undefined;
    // Own keys only: a path like `__proto__.polluted` must not reach Object.prototype.
    if (!Object.prototype.hasOwnProperty.call(cur, step)) return undefined;
    cur = (cur as Record<string, unknown>)[step];
  }
  return cur;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** Undefined when the answer satisfies the check, else one sentence saying what did not match. */
export function judgeHttp(check: HttpCheck, answer: HttpAnswer, vars: CheckVars): string | undefined {
  const expected = check.expectStatus === undefined ? undefined : Array.isArray(check.expectStatus) ? check.expectStatus : [check.expectStatus];
  if (expected ? !expected.includes(answer.status) : answer.status < 200 || answer.status > 299) {
    return `answered ${answer.status}, expected ${expected ? expected.join(' or ') : 'a 2xx status'}`;
  }
  if (check.bodyContains !== undefined) {
    const want = substitute(check.bodyContains, vars);
    if (!answer.body.includes(want)) return `body does not contain ${JSON.stringify(want)}`;
  }
  if (check.bodyMatches !== undefined) {
    const pattern = substitute(check.bodyMatches, vars);
    let re: RegExp;
    try {
      re = new RegExp(pattern);
    } catch {
      return `bodyMatches ${JSON.stringify(pattern)} is not a valid regular expression`;
    }
    if (!re.test(answer.body)) return `body does not match /${pattern}/`;
  }
  if (check.json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.body);
    } catch {
      return 'body is not JSON';
    }
    const got = jsonPath(parsed, check.json.path);
    const want = typeof check.json.equals === 'string' ? substitute(check.json.equals, vars) : check.json.equals;
    if (got === undefined) return `JSON has no ${check.json.path}`;
    // A number or boolean compares equal to its text form ("1.4.2" vs 1.4.2 is still a mismatch of type, not of value).
    const same = typeof want === 'string' && (typeof got === 'number' || typeof got === 'boolean') ? String(got) === want : got === want;
    if (!same) return `JSON ${check.json.path} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
  }
  return undefined;
}

/** A check's name in messages: its `name`, else the URL, address or command. */
export function checkName(check: { name?: string; http?: string; tcp?: string; exec?: { service: string; command: string[] } }): string {
  if (check.name) return check.name;
  if (check.http !== undefined) return `http ${check.http}`;
  if (check.tcp !== undefined) return `tcp ${check.tcp}`;
  if (check.exec) return `exec ${check.exec.service}: ${check.exec.command.join(' ')}`;
  return 'check';
}

/** At most `max` characters of a body for history: one line, control characters shown as spaces. */
export function excerpt(body: string, max = 200): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must not reach a log line
  const flat = body.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
