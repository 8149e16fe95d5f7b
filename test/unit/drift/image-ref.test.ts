import { describe, expect, it } from 'vitest';
import { imageCarriesRef, isImageId, sameImageRef } from '../../../src/drift/image-ref.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

describe('sameImageRef', () => {
  it.each([
    ['nginx', 'nginx:latest', true],
    ['nginx', 'docker.io/library/nginx:latest', true],
    ['nginx:1.27', 'index.docker.io/library/nginx:1.27', true],
    ['user/app:2', 'docker.io/user/app:2', true],
    ['127.0.0.1:5000/driftd/app:1.0', '127.0.0.1:5000/driftd/app:1.0', true],
    ['localhost/app:1', 'localhost/app:1', true],
    ['nginx:1.27', 'nginx:1.28', false],
    ['nginx', 'nginx:1.27', false],
    ['nginx:1.27', 'library/nginx:1.27', true],
    ['127.0.0.1:5000/driftd/app:1.0', 'driftd/app:1.0', false],
    [`nginx:1.27@${D1}`, 'nginx:1.27', true],
    [`nginx:1.27@${D1}`, `nginx:1.27@${D1}`, true],
    [`nginx:1.27@${D1}`, `nginx:1.27@${D2}`, false],
    [`nginx@${D1}`, `nginx:1.27@${D1}`, true],
    [`nginx@${D1}`, `nginx@${D2}`, false],
    ['not a valid ref!', 'not a valid ref!', true],
    ['not a valid ref!', 'nginx', false],
  ])('%s vs %s → %s', (a, b, expected) => {
    expect(sameImageRef(a, b)).toBe(expected);
    expect(sameImageRef(b, a)).toBe(expected);
  });
});

describe('imageCarriesRef', () => {
  const tags = ['127.0.0.1:5000/driftd/app:1.0', 'nginx:latest'];
  const digests = [`127.0.0.1:5000/driftd/app@${D1}`];
  it.each([
    ['127.0.0.1:5000/driftd/app:1.0', true],
    ['nginx', true],
    ['docker.io/library/nginx:latest', true],
    ['127.0.0.1:5000/driftd/app:1.1', false],
    [`127.0.0.1:5000/driftd/app:9@${D1}`, true],
    [`127.0.0.1:5000/driftd/app@${D2}`, false],
    [`127.0.0.1:5000/other@${D1}`, false],
    ['bad ref!', false],
  ])('%s → %s', (ref, expected) => {
    expect(imageCarriesRef(ref, tags, digests)).toBe(expected);
  });
});

it.each([
  [D1, true],
  ['1'.repeat(64), true],
  ['sha256:abc', false],
  ['nginx:latest', false],
])('isImageId(%s) → %s', (ref, expected) => {
  expect(isImageId(ref)).toBe(expected);
});
