/**
 * What scripts/test-env.sh provisions; integration tests import these instead of spelling
 * names out. Keep in sync with TEST_IMAGES in that script (smoke-registry checks every one).
 */

export const REGISTRY_HOST = '127.0.0.1:5000';
export const REGISTRY_URL = `http://${REGISTRY_HOST}`;

const APP_REPO = `${REGISTRY_HOST}/driftd/app`;
const WORKER_REPO = `${REGISTRY_HOST}/driftd/worker`;

/**
 * Busybox images with different content per tag, so every tag has its own digest.
 * app:* serve `GET /` on port 8080 (body: APP_BODY[tag]) and carry a HEALTHCHECK
 * (wget http://127.0.0.1:8080/ every 2 s, 3 retries) that passes; app:unhealthy has the same
 * health check but serves nothing, so it turns unhealthy after about 8 s.
 * worker:1.0 loops `sleep 1` and exits 0 on SIGTERM; it has no health check.
 */
export const TEST_IMAGES = {
  app10: `${APP_REPO}:1.0`,
  app11: `${APP_REPO}:1.1`,
  app20: `${APP_REPO}:2.0`,
  appUnhealthy: `${APP_REPO}:unhealthy`,
  worker10: `${WORKER_REPO}:1.0`,
} as const;

export const TEST_REPOS = { app: APP_REPO, worker: WORKER_REPO } as const;

/** Port the app images listen on inside the container. */
export const APP_PORT = 8080;

/** What `GET /` returns from each app tag (the tag's version, newline-terminated). */
export const APP_BODY = {
  '1.0': 'driftd app 1.0\n',
  '1.1': 'driftd app 1.1\n',
  '2.0': 'driftd app 2.0\n',
} as const;

/** Label the test-env script puts on each image: a hash of what the image is built from. */
export const IMAGE_CONTENT_LABEL = 'io.driftd.test.content';

/** Every container, network and volume a test creates carries this label (value "1"). */
export const TEST_LABEL = 'io.driftd.test';
/** …and this one, naming the vitest run that created it (see test/support/docker.ts). */
export const TEST_RUN_LABEL = 'io.driftd.test.run';

export const TEST_ENV_HINT = 'run `bash scripts/test-env.sh` (as root on Debian/Ubuntu it provisions everything)';
