/**
 * Which Docker engine and Compose CLI the integration tests run against, read the way driftd
 * reads them: DOCKER_HOST (unset: the local socket) and DRIFTD_COMPOSE_COMMAND (unset: "auto",
 * which prefers the v2 plugin). `npm test` runs the suite on Engine 26 + Compose v2, then a subset
 * with DOCKER_HOST on the legacy Engine 20.10 and DRIFTD_COMPOSE_COMMAND=docker-compose (v1):
 * see scripts/test.sh. No vitest import: global-setup.ts uses this too.
 */
import { detectComposeCli, type ComposeCli } from '../../src/live/compose-cli.js';
import { composeCommandSchema } from '../../src/config/schema.js';
import type { ResolvedConfig } from '../../src/config/resolve.js';

/** Settings a test passes on to every driftd it starts, though it strips other DRIFTD_* variables. */
export const TARGET_ENV_KEYS = ['DRIFTD_COMPOSE_COMMAND'] as const;

/** compose.command for this run: DRIFTD_COMPOSE_COMMAND, else "auto". */
export function testComposeCommand(): ResolvedConfig['composeCommand'] {
  const value = process.env.DRIFTD_COMPOSE_COMMAND;
  if (value === undefined || value === '') return 'auto';
  const parsed = composeCommandSchema().safeParse(value);
  if (!parsed.success) throw new Error(`DRIFTD_COMPOSE_COMMAND must be one of ${composeCommandSchema().options.join(', ')}, got "${value}"`);
  return parsed.data;
}

/** The target settings as environment variables, for a driftd child process or resolveConfig({ env }). */
export function targetEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of TARGET_ENV_KEYS) if (process.env[key]) env[key] = process.env[key];
  return env;
}

/** The Compose CLI the tests run by hand (`compose up -d` as a person would): the one driftd would pick. */
export function testComposeCli(): Promise<ComposeCli> {
  const dockerHost = process.env.DOCKER_HOST;
  return detectComposeCli({ command: testComposeCommand(), ...(dockerHost ? { dockerHost } : {}) });
}
