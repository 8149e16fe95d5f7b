/**
 * Talking to a remote repo over HTTP(S): one-request ref listing (smart-http.ts), and a
 * single-ref shallow fetch into the local mirror with isomorphic-git.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { HttpClient } from 'isomorphic-git';
import type { GitAuth } from '../config/resolve.js';
import { isoGit, isoGitHttp } from './git-lib.js';
import { hasCommit } from './object-store.js';
import { z } from 'zod';
import { lazy } from '../util/lazy.js';
import { readJsonFile, writeJsonAtomic } from '../util/json-file.js';
import { PktLineError } from './pkt-line.js';
import type { AdvertisedRef } from './refs.js';
import { UploadPackWatch, watched } from './upload-pack-answer.js';
import {
  httpCall,
  lsRefsRequest,
  MAX_REFS_ANSWER_BYTES,
  parseDiscovery,
  parseLsRefs,
  syntheticAdvertisement,
  underPrefixes,
  V0_UPLOAD_PACK_CAPABILITIES,
} from './smart-http.js';

export interface RemoteOptions {
  url: string;
  auth?: GitAuth;
  timeoutMs: number;
}

/** isomorphic-git's node client with a socket idle timeout that fails as ETIMEDOUT. */
function httpClient(timeoutMs: number, advertisement?: Buffer, watch?: UploadPackWatch): HttpClient {
  return {
    async request(req) {
      // The fetch's ref discovery is answered from the listing this poll already made: one refs request per poll.
      if (advertisement && req.method === 'GET' && /\/info\/refs\?service=git-upload-pack$/.test(req.url)) {
        return {
          url: req.url,
          method: req.method,
          statusCode: 200,
          statusMessage: 'OK',
          headers: { 'content-type': 'application/x-git-upload-pack-advertisement' },
          body: Readable.from([new Uint8Array(advertisement)])[Symbol.asyncIterator]() as AsyncIterableIterator<Uint8Array>,
        };
      }
      try {
        const res = await (await isoGitHttp()).request({ ...req, fetchOptions: { ...(req.fetchOptions as object | undefined), timeout: timeoutMs } });
        if (!watch || req.method !== 'POST' || !/\/git-upload-pack$/.test(req.url) || !res.body) return res;
        return { ...res, body: watched(res.body, watch) };
      } catch (e) {
        if (e instanceof Error && e.message === 'Request timed out') throw Object.assign(e, { code: 'ETIMEDOUT' });
        throw e;
      }
    },
  };
}

/**
 * Credentials go out with the first request (one round trip per poll, not a 401 and a retry).
 * When the server still answers 401, onAuth cancels: isomorphic-git then throws
 * UserCanceledError (→ GitAuthRefused) instead of asking again in a loop.
 */
function authOptions(auth: GitAuth | undefined) {
  const headers: Record<string, string> = {};
  if (auth && (auth.username || auth.password)) {
    headers.Authorization = `Basic ${Buffer.from(`${auth.username ?? ''}:${auth.password ?? ''}`).toString('base64')}`;
  }
  return { headers, onAuth: () => ({ cancel: true }) };
}

/** `<dataDir>/git/protocol.json`: whether the server answered in protocol v2 (then ls-refs is POSTed directly). */
export function protocolMemoryFile(dataDir: string): string {
  return path.join(dataDir, 'git', 'protocol.json');
}

const protocolSchema = lazy(() => z.object({ version: z.literal(1), repo: z.string(), protocol: z.literal(2) }));

async function knownV2(file: string, repo: string): Promise<boolean> {
  try {
    return (await readJsonFile(file, protocolSchema()))?.repo === repo;
  } catch {
    return false;
  }
}

/** The refs a listing returned, and what a fetch right after it needs to re-list nothing. */
export interface RemoteListing {
  refs: AdvertisedRef[];
  /** v0 capabilities for the synthesized advertisement (the server's own when it answered in v0). */
  capabilities: string[];
}

const UPLOAD_PACK_REQUEST = 'application/x-git-upload-pack-request';

async function lsRefs(opts: RemoteOptions, prefixes: readonly string[]): Promise<AdvertisedRef[]> {
  const answer = await httpCall({
    url: `${opts.url.replace(/\/$/, '')}/git-upload-pack`,
    method: 'POST',
    headers: { ...authOptions(opts.auth).headers, 'Content-Type': UPLOAD_PACK_REQUEST, Accept: 'application/x-git-upload-pack-result', 'Git-Protocol': 'version=2' },
    body: lsRefsRequest(prefixes),
    timeoutMs: opts.timeoutMs,
    maxBytes: MAX_REFS_ANSWER_BYTES,
  });
  return parseLsRefs(answer.body);
}

/**
 * A failure that a server which stopped speaking v2 would cause: a malformed answer or a 4xx
 * refusal of the request — not auth, not a missing repo, not a 5xx or the network (those are the
 * server's trouble, and rediscovering would only double the requests of every failing poll).
 */
function mayBeProtocolChange(e: unknown): boolean {
  const { code, data } = (e ?? {}) as { code?: unknown; data?: { statusCode?: unknown } };
  if (code === 'ParseError') return true;
  const status = typeof data?.statusCode === 'number' ? data.statusCode : 0;
  return code === 'HttpError' && status >= 400 && status < 500 && ![401, 403, 404].includes(status);
}

/**
 * Lists the remote's refs under `prefixes` (peeled) in ONE request: a v2 `ls-refs` POST when the
 * server is known to speak v2 (`memoryFile`), else GET info/refs with `Git-Protocol: version=2`,
 * whose answer is either the whole v0 advertisement (filtered here) or v2 capabilities — then
 * ls-refs follows once and the server is remembered as v2.
 */
export async function listRemoteRefs(opts: RemoteOptions & { prefixes: readonly string[]; memoryFile: string; repo: string }): Promise<RemoteListing> {
  if (await knownV2(opts.memoryFile, opts.repo)) {
    try {
      return { refs: await lsRefs(opts, opts.prefixes), capabilities: V0_UPLOAD_PACK_CAPABILITIES };
    } catch (e) {
      if (!mayBeProtocolChange(e)) throw e;
      await fs.promises.rm(opts.memoryFile, { force: true });
    }
  }
  const answer = await httpCall({
    url: `${opts.url.replace(/\/$/, '')}/info/refs?service=git-upload-pack`,
    method: 'GET',
    headers: { ...authOptions(opts.auth).headers, 'Git-Protocol': 'version=2' },
    timeoutMs: opts.timeoutMs,
    maxBytes: MAX_REFS_ANSWER_BYTES,
  });
  if (!/^application\/x-git-upload-pack-advertisement/.test(answer.contentType)) {
    throw Object.assign(new Error(`not a smart HTTP answer (content type ${answer.contentType.slice(0, 80)})`), { code: 'SmartHttpError' });
  }
  const discovery = parseDiscovery(answer.body);
  if (discovery.version === 0) return { refs: underPrefixes(discovery.refs, opts.prefixes), capabilities: discovery.capabilities };
  if (!discovery.capabilities.has('ls-refs')) throw new PktLineError('the Git server speaks protocol v2 without ls-refs');
  const format = discovery.capabilities.get('object-format');
  if (format !== undefined && format !== 'sha1') throw new PktLineError(`the repository uses object format ${format.slice(0, 20)}; driftd reads SHA-1 repositories`);
  const base = answer.url.replace(/\/info\/refs\?service=git-upload-pack$/, '');
  const refs = await lsRefs({ ...opts, url: base }, opts.prefixes);
  await writeJsonAtomic(opts.memoryFile, { version: 1, repo: opts.repo, protocol: 2 });
  return { refs, capabilities: V0_UPLOAD_PACK_CAPABILITIES };
}

/** Local ref holding the last fetched commit: sent as "have" so the next fetch only transfers what changed. */
const FETCH_BASE_REF = 'refs/driftd/fetch-base';

/**
 * The first fetch takes depth 1: the target's tree, no history. Later fetches need a depth that
 * reaches back to the "have" commit: without it the server cannot leave out what the mirror
 * already holds (isomorphic-git does not ask for thin packs), and resends the whole tree. With
 * depth 100, a target up to 100 commits ahead transfers only what changed; anything further
 * away (or unrelated, e.g. an old tag never fetched) transfers at most 100 commits of history.
 */
const FIRST_FETCH_DEPTH = 1;
const NEXT_FETCH_DEPTH = 100;

/** Creates the bare mirror on first use. */
async function ensureMirror(gitdir: string): Promise<void> {
  if (fs.existsSync(`${gitdir}/config`)) return;
  await fs.promises.mkdir(gitdir, { recursive: true });
  const git = await isoGit();
  await git.init({ fs, gitdir, bare: true, defaultBranch: 'main' });
  await git.setConfig({ fs, gitdir, path: 'remote.origin.fetch', value: '+refs/heads/*:refs/remotes/origin/*' });
}

/**
 * Fetches the one ref the target needs, shallow, no tags, into the mirror at `gitdir`,
 * negotiating from the previously fetched commit. The caller checks that `commit` arrived
 * (the ref may have moved in between).
 */
export async function fetchRef(
  opts: RemoteOptions & { gitdir: string; fullRef: string; commit: string; cache: object; listing: RemoteListing },
): Promise<void> {
  // isomorphic-git's fetch also looks up HEAD in the advertisement; when the policy did not list it, the wanted ref stands in.
  const target = opts.listing.refs.find((r) => r.ref === opts.fullRef);
  const head = opts.listing.refs.find((r) => r.ref === 'HEAD') ?? (target && { ref: 'HEAD', oid: target.oid });
  const wanted = target && head ? (target.ref === 'HEAD' ? [target] : [head, target]) : [];
  await ensureMirror(opts.gitdir);
  const git = await isoGit();
  const hasBase = await git.resolveRef({ fs, gitdir: opts.gitdir, ref: FETCH_BASE_REF }).then(
    () => true,
    () => false,
  );
  const watch = new UploadPackWatch();
  await git.fetch({
    fs,
    http: httpClient(opts.timeoutMs, wanted.length > 0 ? syntheticAdvertisement(wanted, opts.listing.capabilities) : undefined, watch),
    gitdir: opts.gitdir,
    url: opts.url,
    ref: FETCH_BASE_REF,
    remoteRef: opts.fullRef,
    singleBranch: true,
    tags: false,
    depth: hasBase ? NEXT_FETCH_DEPTH : FIRST_FETCH_DEPTH,
    cache: opts.cache,
    ...authOptions(opts.auth),
  });
  if (await hasCommit({ gitdir: opts.gitdir, cache: opts.cache }, opts.commit)) {
    await git.writeRef({ fs, gitdir: opts.gitdir, ref: FETCH_BASE_REF, value: opts.commit, force: true });
  } else if (watch.verdict() === 'incomplete') {
    // isomorphic-git took an answer cut before its pack as an empty fetch: a transfer failure, not a moved ref.
    throw new PktLineError(`the upload-pack answer ended after ${watch.received()} bytes, before its pack was complete`);
  }
}
