import type { DesiredStack } from '../compose/model.js';
import type { DriftReport } from '../drift/model.js';
import type { LiveInventory } from '../live/model.js';
import type { SwarmLive } from '../swarm/engine-model.js';
import { stableStringify } from '../util/hash.js';
import { checksumStackFiles, formatSha256Sums, type ChecksumSkip } from './checksums.js';
import { buildDockerState } from './docker-state.js';
import { toJsonReport } from './json.js';
import { formatMarkdown } from './markdown.js';
import type { ExportFile } from './runtime-export.js';
import { secretIndexFromStacks } from './secrets.js';

export interface ExportInput {
  report: DriftReport;
  inventory: LiveInventory;
  /** The Swarm's services and tasks (engine: swarm stacks), when they were read. */
  swarm?: SwarmLive;
  /** The stacks the report covers (after any --stack filter). */
  desiredStacks: readonly DesiredStack[];
  /** The snapshot (checkout) root the stacks' repo-relative `files` live under. */
  snapshotRoot: string;
  /** Extra `"<project>/<service>"` → secret env keys, merged with those of `desiredStacks`. */
  secretKeys?: Record<string, string[]>;
  /** Filled with the files left out of compose_sha256.txt (a symlink that does not end at a file of its stack). */
  skipped?: ChecksumSkip[];
}

export const EXPORT_FILE_NAMES = ['docker_state.json', 'compose_sha256.txt', 'drift_report.json', 'drift_report.md'] as const;
export type ExportFileName = (typeof EXPORT_FILE_NAMES)[number];

/**
 * The four files of a runtime export (docs/design.md §4), every one redacted with the secrets of the
 * desired stacks. Reads the stacks' input files under `snapshotRoot` to checksum them; throws
 * ExportError naming a file that cannot be read.
 */
export async function buildExportFiles(input: ExportInput): Promise<ExportFile[]> {
  const secrets = secretIndexFromStacks(input.desiredStacks, input.secretKeys);
  const dockerState = buildDockerState(input.inventory, {
    secretKeysByService: secrets.keysByService,
    secretValues: secrets.values,
    ...(input.swarm ? { swarm: input.swarm } : {}),
  });
  const sums = formatSha256Sums(await checksumStackFiles(input.desiredStacks, input.snapshotRoot, input.skipped));
  const contents: Record<ExportFileName, string> = {
    'docker_state.json': `${stableStringify(dockerState, 2)}\n`,
    'compose_sha256.txt': sums,
    'drift_report.json': toJsonReport(input.report, { secrets }),
    'drift_report.md': formatMarkdown(input.report, { secrets }),
  };
  return EXPORT_FILE_NAMES.map((name) => ({ name, content: contents[name] }));
}
