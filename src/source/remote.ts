/**
 * Talking to a remote repo over HTTP(S) with isomorphic-git: one-request ref listing, and a
 * single-ref shallow fetch into the local mirror.
 */
import fs from 'node:fs';
import git, { type HttpClient } from 'isomorphic-git';
import nodeHttp from 'isomorphic-git/http/node';
import type { GitAuth } from '../config/resolve.js';
import { hasCommit } from './object-store.js';
import { refsFromAdvertisement, type RepoRefs } from './refs.js';

export interface RemoteOptions {
  url: string;
  auth?: GitAuth;
  timeoutMs: number;
}

/** isomorphic-git's node client with a socket idle timeout that fails as ETIMEDOUT. */
function httpClient(timeoutMs: number): HttpClient {
  return {
    async request(req) {
      try {
        return await nodeHttp.request({ ...req, fetchOptions: { ...(req.fetchOptions as object | undefined), timeout: timeoutMs } });
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

/**
 * Lists the remote's refs in ONE request: protocol v1's ref advertisement (GET info/refs)
 * carries every ref and the peeled commit of annotated tags. Protocol v2 would need a second
 * request (ls-refs) after the capability advertisement.
 */
export async function listRemoteRefs(opts: RemoteOptions): Promise<RepoRefs> {
  const advertised = await git.listServerRefs({
    http: httpClient(opts.timeoutMs),
    url: opts.url,
    protocolVersion: 1,
    peelTags: true,
    ...authOptions(opts.auth),
  });
  return refsFromAdvertisement(advertised);
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
  await git.init({ fs, gitdir, bare: true, defaultBranch: 'main' });
  await git.setConfig({ fs, gitdir, path: 'remote.origin.fetch', value: '+refs/heads/*:refs/remotes/origin/*' });
}

/**
 * Fetches the one ref the target needs, shallow, no tags, into the mirror at `gitdir`,
 * negotiating from the previously fetched commit. The caller checks that `commit` arrived
 * (the ref may have moved in between).
 */
export async function fetchRef(opts: RemoteOptions & { gitdir: string; fullRef: string; commit: string; cache: object }): Promise<void> {
  await ensureMirror(opts.gitdir);
  const hasBase = await git.resolveRef({ fs, gitdir: opts.gitdir, ref: FETCH_BASE_REF }).then(
    () => true,
    () => false,
  );
  await git.fetch({
    fs,
    http: httpClient(opts.timeoutMs),
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
  }
}
