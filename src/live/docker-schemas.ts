/**
 * zod schemas for the parts of the Docker Engine API responses that driftd relies on.
 * Lenient on purpose: unknown fields pass through (newer engines add fields), fields the
 * engine sends as `null` instead of an empty list/map are accepted, but the fields we read
 * must have the right type.
 */
import { z } from 'zod';
import { lazy } from '../util/lazy.js';
import { dictOf } from '../util/dict-schema.js';

const stringMap = lazy(() => dictOf(z.string(), z.string()).nullish());
const stringList = lazy(() => z.array(z.string()).nullish());
/** Entrypoint/Cmd are arrays in the API; very old images carry a plain string. */
const commandLike = lazy(() => z.union([z.array(z.string()), z.string()]).nullish());

export const healthConfigSchema = lazy(() =>
  z.looseObject({
    Test: stringList(),
    Interval: z.number().nullish(),
    Timeout: z.number().nullish(),
    StartPeriod: z.number().nullish(),
    Retries: z.number().nullish(),
  }),
);

export const containerSummarySchema = lazy(() =>
  z.looseObject({
    Id: z.string(),
    Names: stringList(),
    Image: z.string(),
    ImageID: z.string(),
    Created: z.number(),
    State: z.string(),
    Status: z.string().nullish(),
    Labels: stringMap(),
    /** API ≥ 1.52 carries the health in the list; older engines only in `Status`. */
    Health: z.looseObject({ Status: z.string().nullish() }).nullish(),
  }),
);
export type ContainerSummaryJson = z.infer<ReturnType<typeof containerSummarySchema>>;

export const containerListSchema = lazy(() => z.array(containerSummarySchema()));

const portBindingSchema = lazy(() => z.looseObject({ HostIp: z.string().nullish(), HostPort: z.string().nullish() }));

export const containerInspectSchema = lazy(() =>
  z.looseObject({
    Id: z.string(),
    Name: z.string(),
    Created: z.string(),
    /** The image ID the container runs. */
    Image: z.string(),
    RestartCount: z.number().nullish(),
    State: z.looseObject({
      Status: z.string(),
      ExitCode: z.number().nullish(),
      Health: z.looseObject({ Status: z.string() }).nullish(),
    }),
    Config: z.looseObject({
      Image: z.string(),
      Env: stringList(),
      Cmd: commandLike(),
      Entrypoint: commandLike(),
      Labels: stringMap(),
      ExposedPorts: dictOf(z.string(), z.unknown()).nullish(),
      User: z.string().nullish(),
      WorkingDir: z.string().nullish(),
      Healthcheck: healthConfigSchema().nullish(),
    }),
    HostConfig: z.looseObject({
      PortBindings: dictOf(z.string(), z.array(portBindingSchema()).nullish()).nullish(),
      RestartPolicy: z.looseObject({ Name: z.string().nullish(), MaximumRetryCount: z.number().nullish() }).nullish(),
      Privileged: z.boolean().nullish(),
      NetworkMode: z.string().nullish(),
      Tmpfs: stringMap(),
    }),
    Mounts: z
      .array(
        z.looseObject({
          Type: z.string(),
          Name: z.string().nullish(),
          Source: z.string().nullish(),
          Destination: z.string(),
          RW: z.boolean().nullish(),
        }),
      )
      .nullish(),
    NetworkSettings: z.looseObject({ Networks: dictOf(z.string(), z.unknown()).nullish() }).nullish(),
  }),
);
export type ContainerInspectJson = z.infer<ReturnType<typeof containerInspectSchema>>;

export const imageInspectSchema = lazy(() =>
  z.looseObject({
    Id: z.string(),
    RepoTags: stringList(),
    RepoDigests: stringList(),
    Os: z.string().nullish(),
    Architecture: z.string().nullish(),
    Variant: z.string().nullish(),
    Config: z
      .looseObject({
        Env: stringList(),
        Cmd: commandLike(),
        Entrypoint: commandLike(),
        User: z.string().nullish(),
        WorkingDir: z.string().nullish(),
        Healthcheck: healthConfigSchema().nullish(),
        Labels: stringMap(),
        Volumes: dictOf(z.string(), z.unknown()).nullish(),
      })
      .nullish(),
  }),
);
export type ImageInspectJson = z.infer<ReturnType<typeof imageInspectSchema>>;

export const networkListSchema = lazy(() =>
  z.array(
    z.looseObject({ Id: z.string(), Name: z.string(), Driver: z.string().nullish(), Labels: stringMap() }),
  ),
);
export type NetworkJson = z.infer<ReturnType<typeof networkListSchema>>[number];

export const volumeListSchema = lazy(() =>
  z.looseObject({
    Volumes: z.array(z.looseObject({ Name: z.string(), Driver: z.string().nullish(), Labels: stringMap() })).nullish(),
  }),
);
export type VolumeJson = NonNullable<z.infer<ReturnType<typeof volumeListSchema>>['Volumes']>[number];

export const versionSchema = lazy(() =>
  z.looseObject({
    Version: z.string(),
    ApiVersion: z.string(),
    Os: z.string(),
    Arch: z.string(),
  }),
);
