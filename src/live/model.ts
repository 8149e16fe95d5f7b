/**
 * The live-state model: what the Docker engine runs now. Produced by src/live (Engine API),
 * consumed by src/drift and src/sync. Plain data so the drift engine stays pure.
 */

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
export type ContainerHealth = 'healthy' | 'unhealthy' | 'starting' | 'none';

export interface LivePort {
  target: number;
  published?: string;
  hostIp?: string;
  protocol: 'tcp' | 'udp' | 'sctp';
}

export interface LiveMount {
  type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster';
  /** bind: absolute host path; volume: the full volume name (project-prefixed). */
  source?: string;
  target: string;
  readOnly: boolean;
}

export interface LiveContainerConfig {
  /** Config.Cmd / Config.Entrypoint as the container runs them (may be the image's defaults). */
  command?: string[];
  entrypoint?: string[];
  env: Record<string, string>;
  ports: LivePort[];
  mounts: LiveMount[];
  restart?: string;
  healthcheck?: { test?: string[]; intervalNs?: number; timeoutNs?: number; startPeriodNs?: number; retries?: number };
  networks: string[];
  networkMode?: string;
  privileged: boolean;
  user?: string;
  workingDir?: string;
}

/** The image's own defaults, so that drift can ignore what the image (not the user) set. */
export interface LiveImageDefaults {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  env: Record<string, string>;
  command?: string[];
  entrypoint?: string[];
  user?: string;
  workingDir?: string;
  healthcheck?: LiveContainerConfig['healthcheck'];
  os?: string;
  architecture?: string;
  variant?: string;
  /** Config.Labels of the image: a container inherits them, so they are not the user's. */
  labels?: Record<string, string>;
  /** Config.Volumes of the image: the engine gives each an anonymous volume nobody declared. */
  volumes?: string[];
}

export interface LiveContainer {
  id: string;
  name: string;
  /** com.docker.compose.project / .service / .container-number labels. */
  project?: string;
  service?: string;
  number?: number;
  /** The image reference the container was created from (Config.Image). */
  image: string;
  imageId: string;
  state: ContainerState;
  health: ContainerHealth;
  exitCode?: number;
  restartCount?: number;
  labels: Record<string, string>;
  createdAt: string;
  /** From container inspect; undefined when only the list was fetched. */
  config?: LiveContainerConfig;
}

export interface LiveProject {
  name: string;
  containers: LiveContainer[];
  /** com.docker.compose.project.working_dir of its containers. */
  workingDir?: string;
  configFiles?: string[];
}

export interface LiveNetwork {
  id: string;
  name: string;
  driver: string;
  project?: string;
  labels: Record<string, string>;
}

export interface LiveVolume {
  name: string;
  driver: string;
  project?: string;
  labels: Record<string, string>;
}

export interface LiveInventory {
  takenAt: string;
  engine: { version: string; apiVersion: string; os: string; arch: string };
  containers: LiveContainer[];
  /** Compose projects by name (containers with a com.docker.compose.project label). */
  projects: Record<string, LiveProject>;
  /** Images used by the listed containers, by image ID. */
  images: Record<string, LiveImageDefaults>;
  networks: LiveNetwork[];
  volumes: LiveVolume[];
}
