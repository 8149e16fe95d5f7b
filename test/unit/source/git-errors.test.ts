import { describe, expect, it } from 'vitest';
import { DriftdError } from '../../../src/errors/index.js';
import { displayUrl, toGitError } from '../../../src/source/git-errors.js';
import { refsFromAdvertisement, tagCommits } from '../../../src/source/refs.js';

const REPO = 'https://git.example/desired.git';
const withAuth = { repo: REPO, authConfigured: true };

function httpError(statusCode: number): Error {
  return Object.assign(new Error(`HTTP Error: ${statusCode}`), { code: 'HttpError', data: { statusCode, statusMessage: '', response: '' } });
}
function sysError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

describe('toGitError', () => {
  const cases: { name: string; err: unknown; code: string; text: RegExp }[] = [
    { name: 'connection refused', err: sysError('ECONNREFUSED'), code: 'GitUnreachable', text: /connection refused/ },
    { name: 'DNS failure', err: sysError('ENOTFOUND'), code: 'GitUnreachable', text: /DNS/ },
    { name: 'DNS temporary failure', err: sysError('EAI_AGAIN'), code: 'GitUnreachable', text: /DNS/ },
    { name: 'timeout', err: sysError('ETIMEDOUT'), code: 'GitUnreachable', text: /timed out/ },
    { name: 'reset', err: sysError('ECONNRESET'), code: 'GitUnreachable', text: /reset/ },
    { name: 'TLS', err: sysError('DEPTH_ZERO_SELF_SIGNED_CERT'), code: 'GitUnreachable', text: /TLS/ },
    { name: 'HTTP 401', err: httpError(401), code: 'GitAuthRefused', text: /refused the configured credentials .*HTTP 401/ },
    { name: 'HTTP 403', err: httpError(403), code: 'GitAuthRefused', text: /HTTP 403/ },
    { name: 'auth cancelled by onAuth', err: Object.assign(new Error('canceled'), { code: 'UserCanceledError' }), code: 'GitAuthRefused', text: /credentials/ },
    { name: 'HTTP 404', err: httpError(404), code: 'RepoNotFound', text: /not found \(HTTP 404\)/ },
    { name: 'HTTP 500', err: httpError(500), code: 'GitUnreachable', text: /HTTP 500/ },
    { name: 'not a git server', err: Object.assign(new Error('x'), { code: 'SmartHttpError' }), code: 'RepoNotFound', text: /did not answer as a Git repository/ },
    { name: 'unknown error', err: new Error('boom'), code: 'GitUnreachable', text: /boom/ },
  ];
  for (const t of cases) {
    it(`${t.name} → ${t.code}`, () => {
      const e = toGitError(t.err, withAuth);
      expect(e).toBeInstanceOf(DriftdError);
      expect(e.code).toBe(t.code);
      expect(e.message).toMatch(t.text);
      expect(e.message).toContain(REPO);
      expect(e.cause).toBe(t.err);
    });
  }

  it('401 without configured credentials says to configure them', () => {
    expect(toGitError(httpError(401), { repo: REPO, authConfigured: false }).message).toMatch(/requires credentials .* configure a token/);
  });

  it('a pack cut short after the refs were listed says the pack was incomplete, not "check the URL" (issue 13, finding 9)', () => {
    const parse = Object.assign(new Error('Expected "4139 bytes of pkt-line data" but received "241 bytes".'), { code: 'ParseError' });
    const e = toGitError(parse, { ...withAuth, phase: 'fetch' });
    expect(e.code).toBe('GitUnreachable');
    expect(e.message).toMatch(/^the pack the Git server sent for https:\/\/git.example\/desired.git was incomplete or corrupt \(Expected "4139 bytes/);
    expect(e.message).not.toMatch(/repo URL/);
    expect(e.data).toMatchObject({ reason: 'incomplete-pack' });
    // The same error while listing refs still means "this is not a Git server".
    expect(toGitError(parse, withAuth).code).toBe('RepoNotFound');
  });

  it('DriftdErrors pass through', () => {
    const original = new DriftdError('GitRefNotFound', 'x');
    expect(toGitError(original, withAuth)).toBe(original);
  });
});

describe('displayUrl', () => {
  const cases: [string, string][] = [
    ['https://user:s3cret@git.example/r.git', 'https://git.example/r.git'],
    ['https://tok@git.example/r.git', 'https://git.example/r.git'],
    ['http://127.0.0.1:8080/r.git', 'http://127.0.0.1:8080/r.git'],
    ['https://git.example', 'https://git.example'],
    ['https://git.example/r.git?token=s3cret', 'https://git.example/r.git'],
    ['https://git.example/r.git?access_token=s3cret&x=1', 'https://git.example/r.git'],
    ['https://git.example/r.git?s3cret', 'https://git.example/r.git'],
    ['https://git.example/r.git#s3cret', 'https://git.example/r.git'],
    ['https://oauth2:s3cret@git.example:8443/group/r.git?private_token=s3cret#frag', 'https://git.example:8443/group/r.git'],
    ['http://127.0.0.1:8080/r.git?', 'http://127.0.0.1:8080/r.git'],
    ['ssh://git:s3cret@git.example/r.git?token=s3cret', 'ssh://git.example/r.git'],
    ['git:s3cret@git.example:org/r.git?token=s3cret', 'git.example:org/r.git'],
    ['not a url?token=s3cret', 'not a url'],
  ];
  for (const [input, want] of cases) {
    it(`${input.replace(/s3cret/g, '***')} → ${want}`, () => {
      expect(displayUrl(input)).toBe(want);
      expect(displayUrl(input)).not.toContain('s3cret');
    });
  }
});

describe('refsFromAdvertisement', () => {
  it('splits HEAD, branches and tags; annotated tags carry their peeled commit', () => {
    const refs = refsFromAdvertisement([
      { ref: 'HEAD', oid: '1'.repeat(40) },
      { ref: 'refs/heads/main', oid: '1'.repeat(40) },
      { ref: 'refs/heads/feature/x', oid: '2'.repeat(40) },
      { ref: 'refs/tags/v1', oid: '3'.repeat(40) },
      { ref: 'refs/tags/v2', oid: '4'.repeat(40), peeled: '5'.repeat(40) },
      { ref: 'refs/pull/1/head', oid: '6'.repeat(40) },
    ]);
    expect(refs).toEqual({
      head: '1'.repeat(40),
      branches: { main: '1'.repeat(40), 'feature/x': '2'.repeat(40) },
      tags: { v1: { object: '3'.repeat(40), commit: '3'.repeat(40) }, v2: { object: '4'.repeat(40), commit: '5'.repeat(40) } },
    });
    expect(tagCommits(refs)).toEqual({ v1: '3'.repeat(40), v2: '5'.repeat(40) });
  });
});
