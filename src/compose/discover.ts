/**
 * Compose file discovery, in Compose v2's own order of preference (compose-go
 * cli.DefaultFileNames / DefaultOverrideFileNames): the first main file found, then the first
 * override file found (of either family).
 */
export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'] as const;
export const OVERRIDE_FILE_NAMES = ['compose.override.yml', 'compose.override.yaml', 'docker-compose.override.yml', 'docker-compose.override.yaml'] as const;

export interface Discovery {
  /** Stack-relative names in merge order: the main file, then the override when present. */
  files: string[];
  /** Candidates that were present but not used (Compose warns about these too). */
  ignored: string[];
}

/** Returns undefined when the folder has no compose file. */
export function discoverComposeFiles(present: (name: string) => boolean): Discovery | undefined {
  const mains = COMPOSE_FILE_NAMES.filter(present);
  const main = mains[0];
  if (main === undefined) return undefined;
  const overrides = OVERRIDE_FILE_NAMES.filter(present);
  const override = overrides[0];
  return {
    files: override === undefined ? [main] : [main, override],
    ignored: [...mains.slice(1), ...overrides.slice(1)],
  };
}
