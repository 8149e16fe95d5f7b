/**
 * Small in-memory stand-ins behind driftd's own client interfaces (EngineApi, ComposeCli, a
 * GitSource's materialize), for unit tests of reconcile's orchestration: what is recorded, in
 * which order, what rolls back where. Compose here reads the deploy file driftd wrote and turns
 * it into containers with its labels; Docker's and Compose's real behaviour is covered by the
 * integration tests (sync-*, agent-*), which stay on the real engine.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { EngineApi } from '../../../src/live/engine-api.js';
import type { ComposeCli, ComposeRunOptions } from '../../../src/live/compose-cli.js';
import type { Snapshot } from '../../../src/source/index.js';
import type { ExecResult } from '../../../src/util/exec.js';
import { COMPOSE_LABELS } from '../../../src/util/labels.js';

interface ContainerJson {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Created: number;
  State: string;
  Status: string;
  Labels: Record<string, string>;
}

/** Containers as the engine lists them; everything else this engine is asked answers "nothing here". */
export class FakeEngine implements EngineApi {
  readonly address = 'unix:///fake/docker.sock';
  readonly containers = new Map<string, ContainerJson>();
  #next = 1;

  add(project: string, service: string, image: string, labels: Record<string, string>, health: 'healthy' | 'unhealthy'): void {
    const id = `c${String(this.#next++).padStart(12, '0')}`;
    this.containers.set(id, {
      Id: id,
      Names: [`/${project}-${service}-1`],
      Image: image,
      ImageID: `sha256:${id}`,
      Created: 1_700_000_000,
      State: 'running',
      Status: health === 'healthy' ? 'Up 2 seconds' : 'Up 2 seconds (unhealthy)',
      Labels: { ...labels, [COMPOSE_LABELS.project]: project, [COMPOSE_LABELS.service]: service, [COMPOSE_LABELS.number]: '1', [COMPOSE_LABELS.oneoff]: 'False' },
    });
  }

  removeProject(project: string): void {
    for (const [id, c] of this.containers) if (c.Labels[COMPOSE_LABELS.project] === project) this.containers.delete(id);
  }

  ping(): Promise<unknown> {
    return Promise.resolve('OK');
  }
  version(): Promise<unknown> {
    return Promise.resolve({ Version: '26.1.0', ApiVersion: '1.45', Os: 'linux', Arch: 'amd64' });
  }
  info(): Promise<unknown> {
    return Promise.resolve({});
  }
  listContainers(options: { all?: boolean; filters?: { label?: string[] } }): Promise<unknown> {
    const wanted = options.filters?.label ?? [];
    const matches = (c: ContainerJson) =>
      wanted.every((f) => {
        const eq = f.indexOf('=');
        return eq < 0 ? f in c.Labels : c.Labels[f.slice(0, eq)] === f.slice(eq + 1);
      });
    return Promise.resolve([...this.containers.values()].filter(matches).map((c) => structuredClone(c)));
  }
  listNetworks(): Promise<unknown> {
    return Promise.resolve([]);
  }
  listVolumes(): Promise<unknown> {
    return Promise.resolve({ Volumes: [], Warnings: null });
  }
  getContainer(id: string) {
    return { inspect: () => Promise.reject(new Error(`no inspect in this fake (${id})`)) };
  }
  getImage(name: string) {
    // Not present locally: every changed service is pulled (by the fake Compose, which has it at once).
    const missing = Object.assign(new Error(`No such image: ${name}`), { statusCode: 404 });
    return { inspect: () => Promise.reject(missing), distribution: () => Promise.reject(missing) };
  }
}

/**
 * `up` reads the deploy file driftd wrote and runs one container per service with its labels;
 * an image named in `unhealthy` runs unhealthy, one in `failUp` makes `up` exit 1; `down`
 * removes the project. Every call is appended to `events` ("up web", "pull web", "down web").
 */
export class FakeCompose implements ComposeCli {
  readonly kind = 'v2' as const;
  readonly version = '2.26.1';
  readonly command = ['docker', 'compose'] as const;
  readonly unhealthy = new Set<string>();
  readonly failUp = new Set<string>();

  constructor(
    private readonly engine: FakeEngine,
    readonly events: string[],
  ) {}

  run(args: readonly string[], opts: ComposeRunOptions): Promise<ExecResult> {
    const verb = args[0] ?? '';
    this.events.push(`${verb} ${opts.projectName}`);
    const ok: ExecResult = { code: 0, stdout: '', stderr: '', timedOut: false, durationMs: 1 };
    if (verb === 'down') this.engine.removeProject(opts.projectName);
    if (verb !== 'up') return Promise.resolve(ok);
    const file = parse(readFileSync(path.join(opts.cwd, opts.files[0]!), 'utf8')) as { services: Record<string, { image: string; labels?: Record<string, string> }> };
    const images = Object.values(file.services).map((s) => s.image);
    if (images.some((i) => this.failUp.has(i))) return Promise.resolve({ ...ok, code: 1, stderr: 'Error response from daemon: manifest unknown' });
    this.engine.removeProject(opts.projectName);
    for (const [name, s] of Object.entries(file.services)) {
      this.engine.add(opts.projectName, name, s.image, s.labels ?? {}, this.unhealthy.has(s.image) ? 'unhealthy' : 'healthy');
    }
    return Promise.resolve(ok);
  }
}

/** Commits → trees already on disk; `materialize` is logged in `events` and fails for commits in `broken`. */
export class FakeSnapshots {
  readonly broken = new Set<string>();

  constructor(
    private readonly dirs: ReadonlyMap<string, string>,
    readonly events: string[],
  ) {}

  materialize(commit: string): Promise<Snapshot> {
    this.events.push(`materialize ${commit}`);
    const dir = this.dirs.get(commit);
    if (!dir || this.broken.has(commit)) return Promise.reject(new Error(`commit ${commit} cannot be materialized`));
    return Promise.resolve({ commit, dir, problems: [] });
  }
}
