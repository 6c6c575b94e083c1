import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/platform/paths.js';

/** Shared test material from ../shared/vectors (CI checks it out beside the repository). */
export function readVector<T = unknown>(relative: string): T {
  return JSON.parse(readFileSync(path.join(projectRoot, '..', 'shared', 'vectors', relative), 'utf8')) as T;
}
