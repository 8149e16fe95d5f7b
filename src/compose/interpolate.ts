import { composeError, formatPath } from './errors.js';
import { InvalidTemplateError, MissingRequiredError, substitute, type Lookup } from './template.js';
import { mapStringValues, type YamlFile } from './yaml-file.js';
import { describeError } from '../errors/index.js';

/** Interpolates one compose value; errors name the model path and say what to do. */
export function interpolateValue(value: string, path: readonly (string | number)[], lookup: Lookup, onMissing?: (name: string) => void): string {
  try {
    return substitute(value, lookup, onMissing ? { onMissing } : {});
  } catch (e) {
    if (e instanceof InvalidTemplateError) {
      throw composeError(
        'InterpolationError',
        `invalid interpolation format for ${formatPath(path)}; write a literal $ as $$`,
        { path: [...path] },
      );
    }
    if (e instanceof MissingRequiredError) {
      throw composeError('InterpolationError', `error while interpolating ${formatPath(path)}: ${e.message}`, { path: [...path] });
    }
    throw e;
  }
}

/** Interpolates every string value (not keys) of a parsed compose file in place. */
export function interpolateYaml(y: YamlFile, lookup: Lookup, onMissing?: (name: string) => void): void {
  mapStringValues(y, (value, path) => interpolateValue(value, path, lookup, onMissing));
}

type Cast = (value: string) => unknown;

class CastError extends Error {}

const toInt: Cast = (v) => {
  if (!/^[+-]?\d+$/.test(v)) throw new CastError('not an integer');
  return Number(v);
};
const toFloat: Cast = (v) => {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) throw new CastError('not a number');
  return Number(v);
};
const toBoolean: Cast = (v) => {
  const s = v.toLowerCase();
  if (s === 'true' || s === 'y' || s === 'yes' || s === 'on') return true;
  if (s === 'false' || s === 'n' || s === 'no' || s === 'off') return false;
  throw new CastError('not a boolean');
};

/**
 * compose-go's type-cast table: after interpolation, strings at these paths become numbers or
 * booleans (so `privileged: ${PRIV}` works). `*` = any key, `[]` = any list index.
 */
const CASTS: [string, Cast][] = [
  ['services.*.cpu_count', toInt],
  ['services.*.cpu_percent', toFloat],
  ['services.*.cpu_period', toInt],
  ['services.*.cpu_quota', toInt],
  ['services.*.cpu_rt_period', toInt],
  ['services.*.cpu_rt_runtime', toInt],
  ['services.*.cpus', toFloat],
  ['services.*.cpu_shares', toInt],
  ['services.*.init', toBoolean],
  ['services.*.depends_on.*.required', toBoolean],
  ['services.*.depends_on.*.restart', toBoolean],
  ['services.*.deploy.replicas', toInt],
  ['services.*.deploy.update_config.parallelism', toInt],
  ['services.*.deploy.update_config.max_failure_ratio', toFloat],
  ['services.*.deploy.rollback_config.parallelism', toInt],
  ['services.*.deploy.rollback_config.max_failure_ratio', toFloat],
  ['services.*.deploy.restart_policy.max_attempts', toInt],
  ['services.*.deploy.placement.max_replicas_per_node', toInt],
  ['services.*.healthcheck.retries', toInt],
  ['services.*.healthcheck.disable', toBoolean],
  ['services.*.oom_kill_disable', toBoolean],
  ['services.*.oom_score_adj', toInt],
  ['services.*.pids_limit', toInt],
  ['services.*.ports.[].target', toInt],
  ['services.*.privileged', toBoolean],
  ['services.*.read_only', toBoolean],
  ['services.*.scale', toInt],
  ['services.*.stdin_open', toBoolean],
  ['services.*.tty', toBoolean],
  ['services.*.ulimits.*', toInt],
  ['services.*.ulimits.*.hard', toInt],
  ['services.*.ulimits.*.soft', toInt],
  ['services.*.volumes.[].read_only', toBoolean],
  ['services.*.volumes.[].volume.nocopy', toBoolean],
  ['networks.*.external', toBoolean],
  ['networks.*.internal', toBoolean],
  ['networks.*.attachable', toBoolean],
  ['networks.*.enable_ipv4', toBoolean],
  ['networks.*.enable_ipv6', toBoolean],
  ['volumes.*.external', toBoolean],
  ['secrets.*.external', toBoolean],
  ['configs.*.external', toBoolean],
];

const COMPILED = CASTS.map(([p, cast]) => ({ segs: p.split('.'), cast }));

function castFor(path: readonly (string | number)[]): Cast | undefined {
  outer: for (const { segs, cast } of COMPILED) {
    if (segs.length !== path.length) continue;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i];
      const p = path[i];
      if (seg === '[]' ? typeof p !== 'number' : seg === '*' ? typeof p !== 'string' : seg !== p) continue outer;
    }
    return cast;
  }
  return undefined;
}

/** Applies the cast table to a plain compose model in place; errors carry the model path. */
export function castTypes(value: unknown, path: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    const cast = castFor(path);
    if (!cast) return value;
    try {
      return cast(value);
    } catch (e) {
      throw composeError('ComposeLoadError', `${formatPath(path)}: failed to cast to expected type: ${describeError(e)}`, { path });
    }
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = castTypes(value[i], [...path, i]);
    return value;
  }
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) obj[key] = castTypes(obj[key], [...path, key]);
  }
  return value;
}
