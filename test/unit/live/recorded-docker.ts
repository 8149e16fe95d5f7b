import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DockerApi } from '../../../src/live/inventory.js';

export interface RecordedResponses {
  list: unknown[];
  containers: Record<string, unknown>;
  images: Record<string, unknown>;
  networks?: unknown[];
  volumes?: unknown;
  version?: unknown;
}

/**
 * A stand-in that serves fixed API responses and counts calls: it checks how many calls
 * collectInventory makes (the inventory's cost), not Docker's behaviour (the integration tests
 * and the recorded fixtures do that).
 */
export class RecordedDocker implements DockerApi {
  calls: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  modem = { socketPath: '/var/run/docker.sock' };

  constructor(
    private readonly data: RecordedResponses,
    private readonly fail: (call: string) => Error | undefined = () => undefined,
  ) {}

  private async answer<T>(call: string, value: () => T): Promise<T> {
    this.calls.push(call);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 1));
    this.inFlight--;
    const err = this.fail(call);
    if (err !== undefined) throw err;
    return value();
  }

  listContainers(): Promise<unknown> {
    return this.answer('list', () => this.data.list);
  }
  getContainer(id: string) {
    return { inspect: () => this.answer(`container ${id}`, () => this.data.containers[id]) };
  }
  getImage(id: string) {
    return { inspect: () => this.answer(`image ${id}`, () => this.data.images[id]) };
  }
  listNetworks(): Promise<unknown> {
    return this.answer('networks', () => this.data.networks ?? []);
  }
  listVolumes(): Promise<unknown> {
    return this.answer('volumes', () => this.data.volumes ?? { Volumes: null, Warnings: null });
  }
  version(): Promise<unknown> {
    return this.answer('version', () => this.data.version ?? { Version: '20.10.24', ApiVersion: '1.41', Os: 'linux', Arch: 'amd64' });
  }
}

export interface Recording extends RecordedResponses {
  recordedWith: { compose: string; engine: string };
  /** The project's working dir at recording time (bind sources live under it). */
  workingDir: string;
  project: string;
  /** The stack folder that was deployed: stack-relative path → content. */
  files: Record<string, string>;
  containers: Record<string, Record<string, unknown>>;
}

/** A recording made by test/unit/live/fixtures/record-*.ts; a fresh deep copy on every call. */
export function loadRecording(name: string): Recording {
  return JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures', `${name}.json`), 'utf8')) as Recording;
}
