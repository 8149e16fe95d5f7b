/**
 * Listing refs over Git's smart HTTP, protocol v2 where the server speaks it, v0 otherwise.
 *
 * v2: `command=ls-refs` with `ref-prefix` lines, so the server sends only the refs a policy can
 * select (one tag, one branch, or the tags under a prefix) instead of every ref it has. Its
 * capability advertisement (GET info/refs) carries no refs, so once a server is known to speak v2
 * driftd POSTs ls-refs directly: one request per poll. A server that answers the GET with a v0
 * advertisement gets no POST: that advertisement is the listing.
 *
 * Every answer is parsed here, with limits (size, line count, oid and ref-name shape): the
 * server is outside input. Parsing is pure and unit-tested from raw bytes.
 */
import http from 'node:http';
import https from 'node:https';
import type { AdvertisedRef } from './refs.js';
import { DELIM, FLUSH, parsePktLines, pkt, pktText, PktLineError, type Pkt } from './pkt-line.js';

/** The most bytes one refs answer may have (100,000 refs of v0 advertisement are ~7 MB). */
export const MAX_REFS_ANSWER_BYTES = 32 * 1024 * 1024;
/** The most refs one answer may list. */
export const MAX_REFS = 200_000;
const MAX_REF_NAME = 1024;
const OID = /^[0-9a-f]{40}$/;
const ZERO_OID = '0'.repeat(40);

export type Discovery =
  | { version: 2; capabilities: Map<string, string> }
  | { version: 0; refs: AdvertisedRef[]; capabilities: string[] };

function bad(what: string): never {
  throw new PktLineError(`the Git server's answer is malformed: ${what}`);
}

function checkOid(oid: string): string {
  if (!OID.test(oid)) bad(`${JSON.stringify(oid.slice(0, 80))} is not a SHA-1 object id`);
  return oid;
}

function checkRefName(name: string): string {
  // Selection validates the names it uses; here only what could break parsing or logs is refused.
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > MAX_REF_NAME || /[\u0000-\u0020\u007f]/.test(name)) bad(`ref name ${JSON.stringify(name.slice(0, 80))}`);
  return name;
}

function dataLines(pkts: Pkt[]): { lines: string[]; rest: Pkt[] } {
  const lines: string[] = [];
  let i = 0;
  for (; i < pkts.length; i++) {
    const p = pkts[i]!;
    if (p.kind !== 'data') break;
    const text = pktText(p);
    if (text.startsWith('ERR ')) bad(`the server reported an error: ${text.slice(4, 200)}`);
    lines.push(text);
  }
  return { lines, rest: pkts.slice(i) };
}

function expectFlush(rest: Pkt[], where: string): void {
  if (rest[0]?.kind !== 'flush') bad(`${where} does not end with a flush-pkt`);
}

/** The answer to GET info/refs?service=git-upload-pack (sent with `Git-Protocol: version=2`). */
export function parseDiscovery(body: Buffer): Discovery {
  let pkts = parsePktLines(body, MAX_REFS * 2 + 16);
  // v0 starts with "# service=git-upload-pack" and a flush; v2 servers behind git http-backend leave it out.
  const first = pkts[0];
  if (first?.kind === 'data' && pktText(first) === '# service=git-upload-pack') {
    if (pkts[1]?.kind !== 'flush') bad('no flush-pkt after the service line');
    pkts = pkts.slice(2);
  }
  const head = pkts[0];
  if (head === undefined || head.kind === 'flush') return { version: 0, refs: [], capabilities: [] };
  if (head.kind !== 'data') bad('unexpected special pkt-line');
  if (pktText(head) === 'version 2') {
    const { lines, rest } = dataLines(pkts.slice(1));
    expectFlush(rest, 'the capability advertisement');
    const capabilities = new Map<string, string>();
    for (const line of lines) {
      const eq = line.indexOf('=');
      capabilities.set(eq < 0 ? line : line.slice(0, eq), eq < 0 ? '' : line.slice(eq + 1));
    }
    return { version: 2, capabilities };
  }
  return parseV0Refs(pkts);
}

function parseV0Refs(pkts: Pkt[]): Discovery {
  const { lines, rest } = dataLines(pkts);
  expectFlush(rest, 'the ref advertisement');
  const refs: AdvertisedRef[] = [];
  let capabilities: string[] = [];
  lines.forEach((raw, i) => {
    let line = raw;
    if (i === 0) {
      const nul = line.indexOf('\0');
      if (nul < 0) bad('the first ref line has no capability list');
      capabilities = line.slice(nul + 1).split(' ').filter(Boolean);
      line = line.slice(0, nul);
    }
    const sp = line.indexOf(' ');
    if (sp < 0) bad(`ref line ${JSON.stringify(line.slice(0, 80))}`);
    const oid = checkOid(line.slice(0, sp));
    const name = checkRefName(line.slice(sp + 1));
    if (i === 0 && oid === ZERO_OID && name === 'capabilities^{}') return; // an empty repo
    if (name.endsWith('^{}')) {
      const last = refs[refs.length - 1];
      if (!last || last.ref !== name.slice(0, -3)) bad(`peeled line for ${JSON.stringify(name.slice(0, 80))} does not follow its ref`);
      last.peeled = oid;
      return;
    }
    refs.push({ ref: name, oid });
  });
  if (refs.length > MAX_REFS) bad(`more than ${MAX_REFS} refs`);
  return { version: 0, refs, capabilities };
}

/** The body of a v2 `ls-refs` request: peeled tags, only refs under `prefixes`. */
export function lsRefsRequest(prefixes: readonly string[]): string {
  return [pkt('command=ls-refs\n'), DELIM, pkt('peel\n'), ...prefixes.map((p) => pkt(`ref-prefix ${p}\n`)), FLUSH].join('');
}

/** The answer to `ls-refs`: `<oid> <ref>[ symref-target:<ref>][ peeled:<oid>]` lines, then a flush. */
export function parseLsRefs(body: Buffer): AdvertisedRef[] {
  const { lines, rest } = dataLines(parsePktLines(body, MAX_REFS + 1));
  expectFlush(rest, 'the ls-refs answer');
  if (rest.length > 1) bad('data after the ls-refs answer');
  return lines.map((line) => {
    const [oid = '', name = '', ...attrs] = line.split(' ');
    if (oid === 'unborn') bad('an unborn ref was listed although driftd did not ask for one');
    const ref: AdvertisedRef = { ref: checkRefName(name), oid: checkOid(oid) };
    for (const attr of attrs) {
      if (attr.startsWith('peeled:')) ref.peeled = checkOid(attr.slice('peeled:'.length));
      else if (!attr.startsWith('symref-target:')) bad(`unknown ref attribute ${JSON.stringify(attr.slice(0, 80))}`);
    }
    return ref;
  });
}

/** Keeps the refs a prefix list asks for (what ls-refs does on the server; applied to v0 listings too). */
export function underPrefixes(refs: readonly AdvertisedRef[], prefixes: readonly string[]): AdvertisedRef[] {
  return refs.filter((r) => prefixes.some((p) => r.ref.startsWith(p)));
}

/**
 * A v0 advertisement of exactly the listed refs, with `capabilities`: fed to isomorphic-git's
 * fetch in place of a second GET info/refs, so that fetching a new target re-lists nothing.
 */
export function syntheticAdvertisement(refs: readonly AdvertisedRef[], capabilities: readonly string[]): Buffer {
  const lines = [pkt('# service=git-upload-pack\n'), FLUSH];
  refs.forEach((r, i) => {
    lines.push(pkt(`${r.oid} ${r.ref}${i === 0 ? `\0${capabilities.join(' ')}` : ''}\n`));
    if (r.peeled) lines.push(pkt(`${r.peeled} ${r.ref}^{}\n`));
  });
  lines.push(FLUSH);
  return Buffer.from(lines.join(''), 'utf8');
}

/**
 * What git upload-pack offers in v0 to every client (git ≥ 2.18, i.e. any server speaking v2):
 * used for the synthesized advertisement when the listing came from v2, which has no v0 list.
 */
export const V0_UPLOAD_PACK_CAPABILITIES = ['multi_ack_detailed', 'no-done', 'side-band-64k', 'thin-pack', 'ofs-delta', 'shallow', 'no-progress', 'include-tag'];

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: Buffer;
  /** The URL that answered (after redirects). */
  url: string;
}

export interface HttpCall {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  maxBytes: number;
}

const MAX_REDIRECTS = 5;

/** One HTTP exchange with a size ceiling and a socket idle timeout (ETIMEDOUT); GET follows redirects. */
export async function httpCall(call: HttpCall, redirects = 0): Promise<HttpAnswer> {
  const url = new URL(call.url);
  const client = url.protocol === 'https:' ? https : http;
  const answer = await new Promise<HttpAnswer & { location?: string }>((resolve, reject) => {
    const req = client.request(url, { method: call.method, headers: call.headers }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > call.maxBytes) {
          req.destroy(new PktLineError(`the Git server's answer is larger than ${call.maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'] ?? '',
          body: Buffer.concat(chunks),
          url: call.url,
          ...(res.headers.location ? { location: res.headers.location } : {}),
        }),
      );
      res.on('error', reject);
    });
    req.setTimeout(call.timeoutMs, () => req.destroy(Object.assign(new Error('Request timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(call.body);
  });
  if (call.method === 'GET' && answer.status >= 300 && answer.status < 400 && answer.location) {
    if (redirects >= MAX_REDIRECTS) throw httpError(answer.status, 'too many redirects');
    const next = new URL(answer.location, call.url);
    // Credentials stay with the origin they were configured for.
    const headers = next.origin === url.origin ? call.headers : Object.fromEntries(Object.entries(call.headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
    return httpCall({ ...call, url: next.toString(), headers }, redirects + 1);
  }
  if (answer.status !== 200) throw httpError(answer.status, answer.body.subarray(0, 200).toString('utf8'));
  return answer;
}

/** Shaped like isomorphic-git's HttpError, so one error mapping (git-errors.ts) serves both clients. */
function httpError(status: number, detail: string): Error {
  return Object.assign(new Error(`HTTP ${status}: ${detail}`), { code: 'HttpError', data: { statusCode: status } });
}
