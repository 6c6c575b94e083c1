// Part of `npm run lint`: no line of code over 120 characters (the formatter's width; Biome does
// not break strings and comments, so this catches what it leaves).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const LIMIT = 120;
const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '*.ts', '*.tsx', '*.mjs', '*.js'], {
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f && !f.startsWith('public/') && !f.startsWith('test/vectors/'));
const long = files.flatMap((file) => {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return []; // listed by git but deleted in the working tree
  }
  return text
    .split('\n')
    .flatMap((line, i) => ([...line].length > LIMIT ? [`${file}:${i + 1}: ${[...line].length}`] : []));
});
if (long.length > 0) {
  console.error(`lines over ${LIMIT} characters:\n${long.join('\n')}`);
  process.exit(1);
}
console.log(`no line over ${LIMIT} characters in ${files.length} files`);
