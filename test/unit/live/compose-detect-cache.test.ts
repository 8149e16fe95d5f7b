/**
 * Compose CLI detection remembered in the data dir. The fixtures are real shell scripts on a
 * temp PATH standing in for `docker` and `docker-compose`: each prints a version and appends
 * its argv to a log, so every probe a detection ran is counted.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DriftdError } from '../../../src/errors/index.js';
import { createComposeCliDetector, type ComposeCliDetector, type DetectComposeOptions } from '../../../src/live/compose-cli.js';

let root: string;
let bin: string;
let dockerConfig: string;
let systemPlugins: string;
let cacheDir: string;
let calls: string;
let interpreter: string;

const cacheFile = (): string => path.join(cacheDir, 'compose-cli.json');

/** A script run by `interpreter` (a link to /bin/sh), so a test can make it unstartable. */
function writeScript(file: string, body: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.new`;
  writeFileSync(tmp, `#!${interpreter}\nprintf '%s\\n' "\${0##*/} $*" >> "${calls}"\n${body}\n`);
  chmodSync(tmp, 0o755);
  renameSync(tmp, file);
}

const dockerCompose = (version: string): string =>
  `if [ "$1" = version ]; then echo "docker-compose version ${version}, build unknown"; exit 0; fi\n` +
  `case " $* " in *" fail "*) echo "boom" >&2; exit 3;; esac\necho ran`;
const docker = `if [ "$1 $2" = "compose version" ]; then echo "Docker Compose version v2.29.7"; exit 0; fi\necho "docker: '$1' is not a docker command." >&2; exit 1`;

function probes(): string[] {
  return existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter((l) => l.endsWith(' version')) : [];
}

const opts = (extra: DetectComposeOptions = {}): DetectComposeOptions => ({
  cacheDir,
  timeoutMs: 10_000,
  ...extra,
  env: { PATH: bin, DOCKER_CONFIG: dockerConfig, ...extra.env },
});

/** A detector with an empty in-process memory: what a new driftd process starts with. */
const freshProcess = (): ComposeCliDetector => createComposeCliDetector({ systemPluginDirs: [systemPlugins] });

/** Detects in a new "process" and returns the probes that detection ran. */
async function detectCounting(extra: DetectComposeOptions = {}): Promise<{ command: string; version: string; probes: string[] }> {
  const before = probes().length;
  const cli = await freshProcess()(opts(extra));
  return { command: cli.command.join(' '), version: cli.version, probes: probes().slice(before) };
}

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'driftd-compose-detect-'));
  bin = path.join(root, 'bin');
  dockerConfig = path.join(root, 'docker-config');
  systemPlugins = path.join(root, 'usr-lib-docker-cli-plugins');
  cacheDir = path.join(root, 'data', 'cache');
  calls = path.join(root, 'calls.log');
  interpreter = path.join(root, 'interp', 'sh');
  mkdirSync(path.dirname(interpreter));
  symlinkSync('/bin/sh', interpreter);
  writeScript(path.join(bin, 'docker'), docker);
  writeScript(path.join(bin, 'docker-compose'), dockerCompose('1.29.2'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('Compose detection remembered across processes', () => {
  it('the first process probes and writes the cache; the next one probes nothing', async () => {
    const first = await detectCounting();
    expect(first).toEqual({ command: 'docker-compose', version: '1.29.2', probes: ['docker-compose version'] });
    expect(JSON.parse(readFileSync(cacheFile(), 'utf8'))).toMatchObject({ name: 'docker-compose', version: '1.29.2' });

    const second = await detectCounting();
    expect(second).toEqual({ command: 'docker-compose', version: '1.29.2', probes: [] });
    const cli = await freshProcess()(opts());
    expect(cli.kind).toBe('v1');
  });

  it('with no Compose plugin file anywhere, `docker compose version` is never run', async () => {
    expect((await detectCounting()).probes).toEqual(['docker-compose version']);
  });

  it('prefers the plugin when a plugin file exists, and remembers that too', async () => {
    writeScript(path.join(systemPlugins, 'docker-compose'), 'exit 0');
    expect(await detectCounting()).toEqual({ command: 'docker compose', version: '2.29.7', probes: ['docker compose version'] });
    expect(await detectCounting()).toEqual({ command: 'docker compose', version: '2.29.7', probes: [] });
  });

  it('finds a plugin in a dir listed in config.json cliPluginsExtraDirs', async () => {
    const extra = path.join(root, 'brew-plugins');
    writeScript(path.join(extra, 'docker-compose'), 'exit 0');
    mkdirSync(dockerConfig, { recursive: true });
    writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: {}, cliPluginsExtraDirs: [extra] }));
    expect((await detectCounting()).command).toBe('docker compose');
  });

  it('a forced `docker compose` is asked even without a plugin file', async () => {
    expect(await detectCounting({ command: 'docker compose' })).toEqual({ command: 'docker compose', version: '2.29.7', probes: ['docker compose version'] });
  });

  const changes: [string, () => DetectComposeOptions | void, string?][] = [
    ['PATH changes', () => ({ env: { PATH: `${path.join(root, 'empty')}:${bin}` } })],
    ['docker-compose is touched (mtime)', () => utimesSync(path.join(bin, 'docker-compose'), new Date(), new Date(Date.now() + 5000))],
    ['docker-compose is replaced', () => writeScript(path.join(bin, 'docker-compose'), dockerCompose('1.29.3')), '1.29.3'],
    ['docker is replaced', () => writeScript(path.join(bin, 'docker'), docker)],
    ['a Compose plugin appears in the Docker config dir', () => writeScript(path.join(dockerConfig, 'cli-plugins', 'docker-compose'), 'exit 0'), '2.29.7'],
    ['a Compose plugin appears in a system plugin dir', () => writeScript(path.join(systemPlugins, 'docker-compose'), 'exit 0'), '2.29.7'],
    ['compose.command changes', () => ({ command: 'docker-compose' })],
    ['DOCKER_HOST changes', () => ({ dockerHost: 'unix:///run/other.sock' })],
    ['DOCKER_HOST in the environment changes', () => ({ env: { PATH: bin, DOCKER_HOST: 'tcp://127.0.0.1:2375' } })],
  ];
  it.each(changes)('detects again when %s', async (_what, change, version = '1.29.2') => {
    await detectCounting();
    const extra = change() ?? {};
    const again = await detectCounting(extra);
    expect(again.probes.length).toBeGreaterThan(0);
    expect(again.version).toBe(version);
    expect(await detectCounting(extra)).toMatchObject({ version, probes: [] });
  });

  it.each([
    ['not JSON', '{"fingerprint": '],
    ['foreign JSON', JSON.stringify({ name: 'rm', version: 'x', fingerprint: {} })],
    ['an unknown CLI name', 'REPLACE'],
  ])('a cache file that is %s is ignored and rewritten', async (_what, content) => {
    await detectCounting();
    const valid = readFileSync(cacheFile(), 'utf8');
    writeFileSync(cacheFile(), content === 'REPLACE' ? valid.replace('"docker-compose"', '"docker-composer"') : content);
    expect(await detectCounting()).toEqual({ command: 'docker-compose', version: '1.29.2', probes: ['docker-compose version'] });
    expect(readFileSync(cacheFile(), 'utf8')).toBe(valid);
    expect((await detectCounting()).probes).toEqual([]);
  });

  it('a failed detection is not remembered and says what was tried', async () => {
    rmSync(path.join(bin, 'docker-compose'));
    const err = await freshProcess()(opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriftdError);
    expect((err as DriftdError).code).toBe('ComposeNotFound');
    expect((err as DriftdError).message).toBe(
      `no Docker Compose CLI found (\`docker compose\`: no compose plugin in ${dockerConfig}/cli-plugins, ${systemPlugins}; ` +
        '`docker-compose version`: docker-compose not found); ' +
        'install the Compose plugin (Debian/Ubuntu: docker-compose-plugin or docker-compose-v2) or docker-compose, or set compose.command',
    );
    expect(existsSync(cacheFile())).toBe(false);
  });
});

describe('a remembered CLI whose program is gone', () => {
  const run = (cli: Awaited<ReturnType<ComposeCliDetector>>, args: string[]): ReturnType<typeof cli.run> =>
    cli.run(args, { cwd: root, projectName: 'p', files: [] });

  it('ENOENT on a run drops the entry, here and on disk, so the next call detects again', async () => {
    const detector = freshProcess();
    await detector(opts());
    const cli = await freshProcess()(opts());
    expect(probes()).toHaveLength(1);

    // The script stays (same fingerprint) but its interpreter is gone: spawn fails with ENOENT.
    rmSync(interpreter);
    const err = await run(cli, ['up']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriftdError);
    expect((err as DriftdError).code).toBe('ComposeNotFound');
    expect((err as DriftdError).message).toContain('`docker-compose` can no longer be started (spawn docker-compose ENOENT)');
    expect(existsSync(cacheFile())).toBe(false);

    symlinkSync('/bin/sh', interpreter);
    expect((await detectCounting()).probes).toEqual(['docker-compose version']);
  });

  it('ENOENT also drops the in-process memory of the detector that ran it', async () => {
    const detector = freshProcess();
    const cli = await detector(opts());
    rmSync(interpreter);
    await expect(run(cli, ['up'])).rejects.toThrow(/can no longer be started/);
    symlinkSync('/bin/sh', interpreter);
    const before = probes().length;
    const again = await detector(opts());
    expect(again).not.toBe(cli);
    expect(probes().slice(before)).toEqual(['docker-compose version']);
  });

  it('a Compose run that fails for another reason keeps the entry', async () => {
    const cli = await freshProcess()(opts());
    const r = await run(cli, ['fail']);
    expect(r.code).not.toBe(0);
    const missingCwd = await cli.run(['up'], { cwd: path.join(root, 'no-such-dir'), projectName: 'p', files: [] }).catch((e: unknown) => e);
    expect((missingCwd as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(missingCwd).not.toBeInstanceOf(DriftdError);
    expect(existsSync(cacheFile())).toBe(true);
    expect((await detectCounting()).probes).toEqual([]);
  });
});

describe('in-process memory', () => {
  it('returns the same CLI while nothing changed, and detects again after an upgrade', async () => {
    const detector = freshProcess();
    const cli = await detector(opts({ cacheDir: undefined }));
    expect(await detector(opts({ cacheDir: undefined }))).toBe(cli);
    expect(probes()).toHaveLength(1);

    writeScript(path.join(bin, 'docker-compose'), dockerCompose('1.29.3'));
    const upgraded = await detector(opts({ cacheDir: undefined }));
    expect(upgraded.version).toBe('1.29.3');
    expect(probes()).toHaveLength(2);
  });
});
