// `npm run docs:errors`: writes docs/errors.md from every feature's error catalog.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorsDoc } from '../src/platform/errors-doc.js';
import { projectRoot } from '../src/platform/paths.js';
import { ERROR_CATALOGS } from './error-catalogs.js';

writeFileSync(path.join(projectRoot, 'docs', 'errors.md'), errorsDoc(ERROR_CATALOGS));
console.log('wrote docs/errors.md');
