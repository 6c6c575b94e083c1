// `npm run docs`: writes the docs generated from the features' declarations.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { FEATURES } from '../src/features.js';
import { projectRoot } from '../src/platform/paths.js';
import { GENERATED_DOCS } from '../src/registry-docs.js';

for (const [file, make] of Object.entries(GENERATED_DOCS)) {
  writeFileSync(path.join(projectRoot, 'docs', file), make(FEATURES));
  console.log(`wrote docs/${file}`);
}
