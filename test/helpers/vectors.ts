import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/platform/paths.js';

/** Published test material kept in the repository: test/vectors/ (its README names source and licence of each file). */
export function readVector<T = unknown>(relative: string): T {
  return JSON.parse(readFileSync(path.join(projectRoot, 'test', 'vectors', relative), 'utf8')) as T;
}
