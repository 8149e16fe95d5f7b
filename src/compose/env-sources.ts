import { isSecretKey, registerSecrets } from '../util/scrub.js';
import { composeError } from './errors.js';
import { DotenvError, parseDotenv } from './dotenv.js';
import { InvalidTemplateError, MissingRequiredError, type Lookup } from './template.js';

export interface EnvText {
  text: string;
  /** For messages: repo-relative for the stack's .env, absolute for the host-local file. */
  file: string;
}

export interface InterpolationEnvInput {
  /** The stack's committed `.env`. */
  dotenv?: EnvText;
  /** The host-local `<envDir>/<stack>.env` (per-host values and secrets); wins over `.env`. */
  hostEnv?: EnvText;
  /** The agent's process environment, only when `allowProcessEnv` is set; wins over both files. */
  processEnv?: NodeJS.ProcessEnv;
}

export interface InterpolationEnv {
  lookup: Lookup;
  /** Process variables that were actually read (name → value): they feed the stack's inputsHash. */
  processUsed: Map<string, string>;
}

/** Turns a dotenv parse failure into a load error naming the file and line. */
export function dotenvFailure(e: unknown, file: string): unknown {
  if (!(e instanceof DotenvError)) return e;
  const cause = e.cause;
  const code = cause instanceof InvalidTemplateError || cause instanceof MissingRequiredError ? 'InterpolationError' : 'ComposeLoadError';
  return composeError(code, e.message.replace(/^line \d+: /, ''), { file, line: e.line });
}

/**
 * The variables compose files are interpolated with. Like `docker compose --env-file .env
 * --env-file host.env`: later files override earlier ones, and values inside each file may
 * refer to (process variables, then) variables defined before them.
 */
export function buildInterpolationEnv(input: InterpolationEnvInput): InterpolationEnv {
  const processUsed = new Map<string, string>();
  const proc: Lookup = (name) => {
    const v = input.processEnv?.[name];
    if (v !== undefined) {
      processUsed.set(name, v);
      if (isSecretKey(name)) registerSecrets([v]);
    }
    return v;
  };
  const values = new Map<string, string>();
  for (const src of [input.dotenv, input.hostEnv]) {
    if (!src) continue;
    const before = new Map(values);
    try {
      parseDotenv(src.text, proc, values);
    } catch (e) {
      throw dotenvFailure(e, src.file);
    } finally {
      // DESIGN §8: every value of the host-local env file is a secret; in the committed .env
      // (non-secret defaults by contract) the values of secret-looking keys are.
      for (const [k, v] of values) if (before.get(k) !== v && (src === input.hostEnv || isSecretKey(k))) registerSecrets([v]);
    }
  }
  return { lookup: (name) => proc(name) ?? values.get(name), processUsed };
}
