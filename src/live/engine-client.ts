/**
 * driftd's Docker Engine API client: the few read-only endpoints it uses, unversioned (the
 * engine answers in its own API version, as with dockerode), over the transport the address
 * names. Far cheaper to load than dockerode, which brings ssh2 and BuildKit's gRPC stack.
 */
import type { AuthConfig, EngineApi, EngineFilters } from './engine-api.js';
import type { EngineEndpoint } from './engine-endpoint.js';
import { engineSender, engineStreamer, type Send, type Stream, type StreamHandlers } from './engine-http.js';

/** `?all=1&filters={"label":["k=v"]}`: filters JSON-encoded as the API expects; empty parts left out. */
export function engineQuery(params: { all?: boolean; since?: number; filters?: EngineFilters }): string {
  const query = new URLSearchParams();
  if (params.all) query.set('all', '1');
  if (params.since !== undefined) query.set('since', String(params.since));
  if (params.filters && Object.keys(params.filters).length > 0) query.set('filters', JSON.stringify(params.filters));
  const text = query.toString();
  return text === '' ? '' : `?${text}`;
}

/** `X-Registry-Auth` as the docker CLI and dockerode send it: the JSON, base64 with the URL alphabet, padded. */
export function registryAuthHeader(auth: AuthConfig): string {
  return Buffer.from(JSON.stringify(auth)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

const segment = encodeURIComponent;

export class EngineClient implements EngineApi {
  private readonly send: Send;
  private readonly stream: Stream;

  constructor(
    endpoint: EngineEndpoint,
    readonly address: string,
  ) {
    this.send = engineSender(endpoint);
    this.stream = engineStreamer(endpoint);
  }

  /** GET /events: open until the engine ends it or `signal` aborts (engine-watch.ts). */
  watchEvents(options: { since?: number; filters?: EngineFilters; signal: AbortSignal }, handlers: StreamHandlers): Promise<void> {
    return this.stream({ path: `/events${engineQuery(options)}`, signal: options.signal }, handlers);
  }

  ping(options: { abortSignal?: AbortSignal } = {}): Promise<unknown> {
    return this.send({ path: '/_ping', ...(options.abortSignal ? { signal: options.abortSignal } : {}) });
  }

  version(): Promise<unknown> {
    return this.send({ path: '/version' });
  }

  info(): Promise<unknown> {
    return this.send({ path: '/info' });
  }

  listContainers(options: { all?: boolean; filters?: EngineFilters }): Promise<unknown> {
    return this.send({ path: `/containers/json${engineQuery(options)}` });
  }

  listNetworks(options: { filters: EngineFilters }): Promise<unknown> {
    return this.send({ path: `/networks${engineQuery(options)}` });
  }

  listVolumes(options: { filters: EngineFilters }): Promise<unknown> {
    return this.send({ path: `/volumes${engineQuery(options)}` });
  }

  getContainer(id: string): { inspect(): Promise<unknown> } {
    return { inspect: () => this.send({ path: `/containers/${segment(id)}/json` }) };
  }

  getImage(name: string): { inspect(): Promise<unknown>; distribution(options: { authconfig?: AuthConfig }): Promise<unknown> } {
    return {
      inspect: () => this.send({ path: `/images/${segment(name)}/json` }),
      distribution: ({ authconfig }) =>
        this.send({ path: `/distribution/${segment(name)}/json`, ...(authconfig ? { headers: { 'X-Registry-Auth': registryAuthHeader(authconfig) } } : {}) }),
    };
  }

  listServices(options: { filters?: EngineFilters } = {}): Promise<unknown> {
    return this.send({ path: `/services${engineQuery(options)}` });
  }

  listTasks(options: { filters?: EngineFilters } = {}): Promise<unknown> {
    return this.send({ path: `/tasks${engineQuery(options)}` });
  }

  listConfigs(options: { filters?: EngineFilters } = {}): Promise<unknown> {
    return this.send({ path: `/configs${engineQuery(options)}` });
  }

  listSecrets(options: { filters?: EngineFilters } = {}): Promise<unknown> {
    return this.send({ path: `/secrets${engineQuery(options)}` });
  }

  getNode(id: string): { inspect(): Promise<unknown> } {
    return { inspect: () => this.send({ path: `/nodes/${segment(id)}` }) };
  }
}
