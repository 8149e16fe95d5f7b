import { callDocker, dockerAddress, parseDockerResponse } from './docker-call.js';
import { containerListSchema } from './docker-schemas.js';
import { mapContainerSummary } from './inspect-mapper.js';
import { COMPOSE_LABELS } from '../util/labels.js';
import type { EngineApi } from './engine-api.js';
import type { LiveContainer } from './model.js';

export type ContainerLister = Pick<EngineApi, 'address' | 'listContainers'>;

/** One list call for one Compose project's containers (stopped ones included); no inspects. */
export async function listProjectContainers(docker: ContainerLister, project: string): Promise<LiveContainer[]> {
  const address = dockerAddress(docker);
  const raw = await callDocker('list containers', address, () =>
    docker.listContainers({ all: true, filters: { label: [`${COMPOSE_LABELS.project}=${project}`] } }),
  );
  return parseDockerResponse(containerListSchema(), raw, 'list containers', address).map(mapContainerSummary);
}

/** One list call for every Compose project's containers (stopped ones included); no inspects. */
export async function listComposeContainers(docker: ContainerLister): Promise<LiveContainer[]> {
  const address = dockerAddress(docker);
  const raw = await callDocker('list containers', address, () => docker.listContainers({ all: true, filters: { label: [COMPOSE_LABELS.project] } }));
  return parseDockerResponse(containerListSchema(), raw, 'list containers', address).map(mapContainerSummary);
}
