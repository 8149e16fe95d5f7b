/**
 * The Docker Engine API calls driftd makes, in dockerode's shape: our EngineClient implements
 * it and a `Dockerode` instance satisfies it structurally (the tests drive real engines with
 * both). Answers are `unknown`: every caller validates them with a zod schema.
 */

/** API list filters (`{ label: ['k=v'] }`), sent JSON-encoded in the `filters` query parameter. */
export type EngineFilters = Record<string, string[]>;

/** A registry login as the engine expects it in `X-Registry-Auth`. */
export type AuthConfig =
  | { username: string; password: string; serveraddress: string }
  | { identitytoken: string; serveraddress: string };

export interface EngineApi {
  /** The DOCKER_HOST-style address, for messages; absent on a Dockerode instance (see dockerAddress). */
  readonly address?: string;
  ping(options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  version(): Promise<unknown>;
  info(): Promise<unknown>;
  listContainers(options: { all?: boolean; filters?: EngineFilters }): Promise<unknown>;
  listNetworks(options: { filters: EngineFilters }): Promise<unknown>;
  listVolumes(options: { filters: EngineFilters }): Promise<unknown>;
  getContainer(id: string): { inspect(): Promise<unknown> };
  getImage(name: string): { inspect(): Promise<unknown>; distribution(options: { authconfig?: AuthConfig }): Promise<unknown> };
  /** Swarm reads (engine: swarm stacks); optional so that test stand-ins without a Swarm need not answer them. */
  listServices?(options: { filters?: EngineFilters }): Promise<unknown>;
  listTasks?(options: { filters?: EngineFilters }): Promise<unknown>;
  listConfigs?(options: { filters?: EngineFilters }): Promise<unknown>;
  listSecrets?(options: { filters?: EngineFilters }): Promise<unknown>;
  getNode?(id: string): { inspect(): Promise<unknown> };
  /** The engine's event stream (the agent's listing cache, engine-watch.ts); optional for the same reason. */
  watchEvents?(options: { since?: number; filters?: EngineFilters; signal: AbortSignal }, handlers: { onOpen(): void; onData(): void }): Promise<void>;
}
