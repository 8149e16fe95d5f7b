/** Loader errors (they carry the file and, where known, the line) as validate findings. */
import { describeError, isDriftdError, type ErrorCode } from '../errors/index.js';
import { FLEET_FILE } from '../compose/fleet.js';
import { finding } from './finding.js';
import type { ValidateFinding, ValidateKind } from './model.js';

const KIND_OF_CODE: Partial<Record<ErrorCode, ValidateKind>> = {
  InvalidStackName: 'invalid-stack-name',
  UnsafePath: 'unsafe-path',
  FileTooLarge: 'file-too-large',
  YamlError: 'yaml-error',
  InterpolationError: 'interpolation-error',
  InvalidLockFile: 'lock-invalid',
  InvalidImageRef: 'invalid-image',
};

function kindOf(code: ErrorCode, file: string): ValidateKind {
  if (code === 'SchemaError' && file === FLEET_FILE) return 'fleet-invalid';
  return KIND_OF_CODE[code] ?? 'compose-error';
}

/** The message without the "file:line: " prefix loader messages start with (the finding has its own). */
function bareMessage(message: string, file: string, line: number | undefined): string {
  for (const prefix of [line !== undefined ? `${file}:${line}: ` : undefined, `${file}: `]) {
    if (prefix !== undefined && message.startsWith(prefix)) return message.slice(prefix.length);
  }
  return message;
}

/** Any error thrown while reading `fallbackFile` (or a file it names) → one error finding. */
export function findingFromError(e: unknown, fallbackFile: string): ValidateFinding {
  if (isDriftdError(e)) {
    const { data } = e;
    const file = 'file' in data && typeof data.file === 'string' ? data.file : fallbackFile;
    const line = 'line' in data && typeof data.line === 'number' ? data.line : undefined;
    return finding(kindOf(e.code, file), 'error', file, line, bareMessage(e.message, file, line));
  }
  const reason = describeError(e);
  return finding('compose-error', 'error', fallbackFile, undefined, `cannot be read: ${reason}`);
}
