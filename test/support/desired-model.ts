import type { DesiredService } from '../../src/compose/model.js';

/** A DesiredService with empty defaults (what a bare `image:` service loads to); tests override what they need. */
export function makeService(over: Partial<DesiredService> & { name: string }): DesiredService {
  return {
    image: 'nginx:1.27',
    environment: {},
    secretEnvKeys: [],
    ports: [],
    mounts: [],
    labels: {},
    networks: ['default'],
    privileged: false,
    replicas: 1,
    mountedFiles: [],
    configHash: `hash-${over.name}`,
    raw: {},
    ...over,
  };
}
