// `npm run docs:permissions`: writes docs/permissions.md from the permission matrix.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { permissionsDoc } from '../src/orgs/permissions.js';
import { projectRoot } from '../src/platform/paths.js';

writeFileSync(path.join(projectRoot, 'docs', 'permissions.md'), permissionsDoc());
console.log('wrote docs/permissions.md');
