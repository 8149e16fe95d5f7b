import { DriftdError } from '../../src/errors/index.js';

/** The DriftdError a promise rejects with; fails the test if it resolves or rejects with something else. */
export async function rejection(p: Promise<unknown>): Promise<DriftdError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DriftdError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}
