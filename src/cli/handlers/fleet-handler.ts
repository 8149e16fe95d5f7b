import { fleetStatus } from '../../hub/fleet-status.js';
import { readCaFile } from '../../util/ca-file.js';
import { DriftdError } from '../../errors/index.js';
import { formatColumns } from '../../report/columns.js';
import { stableStringify } from '../../util/hash.js';
import type { Handler } from '../context.js';
import { flag, optionalString } from '../options.js';

const short = (r: { commit: string; ref?: string } | undefined): string => (r ? `${r.ref ? `${r.ref} ` : ''}${r.commit.slice(0, 12)}` : '-');

/** `driftd fleet status --hub URL [--json]`: the only `fleet` action so far. */
export const handler: Handler = async (ctx, opts, args) => {
  if (args[0] !== 'status') throw new DriftdError('UsageError', `unknown fleet action "${args[0] ?? ''}": use \`driftd fleet status --hub URL\``);
  const hub = optionalString(opts, 'hub') ?? process.env.DRIFTD_HUB_URL;
  if (!hub) throw new DriftdError('UsageError', '--hub URL is required (or DRIFTD_HUB_URL)');
  const caFile = optionalString(opts, 'caFile') ?? process.env.DRIFTD_HUB_CA_FILE;
  const { fleet, exitCode } = await fleetStatus({ hub, token: process.env.DRIFTD_HUB_TOKEN, ...(caFile ? { ca: readCaFile(caFile, '--ca-file') } : {}) });
  if (flag(opts, 'json')) {
    ctx.out(stableStringify(fleet, 2));
    return exitCode;
  }
  const s = fleet.summary;
  ctx.out(`${s.hosts} hosts: ${s.synced} synced, ${s.outOfSync} out of sync, ${s.silent} silent, ${s.stragglers} stragglers`);
  if (fleet.newest) ctx.out(`newest target ${short(fleet.newest)}: ${fleet.newest.synced}/${fleet.newest.hosts} hosts synced, ${fleet.newest.rolledBack} rolled back, ${fleet.newest.pending} pending\n`);
  ctx.out(
    formatColumns(
      ['HOST', 'STATE', 'TARGET', 'LAST REPORT', 'STACKS', 'NOT SYNCED'],
      fleet.hosts.map((h) => [
        h.host,
        `${h.state}${h.straggler ? ' (straggler)' : ''}`,
        h.target ? short(h.target) : (h.targetError ?? '-'),
        h.lastSeen ?? 'never',
        String(h.stacks.length),
        h.stacks.filter((x) => x.sync !== 'Synced' || x.health !== 'Healthy').map((x) => `${x.name}:${x.sync}/${x.health}`).join(' ') || '-',
      ]),
    ),
  );
  return exitCode;
};
