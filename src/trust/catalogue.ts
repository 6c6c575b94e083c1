import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../platform/paths.js';

/*
 * The control catalogue the trust page lists: docs/controls.md, a copy of the product's spec
 * (CONTROLS.md). Groups are `## T — Transport` headings; controls are `- **T1** text` items whose
 * text may wrap onto indented lines.
 */

export interface Control {
  id: string;
  /** The first sentence of the promise. */
  title: string;
  /** The whole promise, unwrapped. */
  text: string;
}

export interface ControlGroup {
  letter: string;
  name: string;
  controls: Control[];
}

export const CATALOGUE_FILE = path.join(projectRoot, 'docs', 'controls.md');

const GROUP = /^##\s+([A-Z])\s+[—–-]\s+(.+?)\s*$/;
const ITEM = /^-\s+\*\*([A-Z][0-9]{1,2})\*\*\s+(.*)$/;

/** The first sentence: up to a full stop, colon or semicolon followed by a space and more text. */
export function firstSentence(text: string): string {
  const m = /^(.+?[.;:])\s/.exec(text);
  const sentence = m ? m[1]! : text;
  return sentence.replace(/[;:]$/, '.');
}

export function parseCatalogue(markdown: string): ControlGroup[] {
  const groups: ControlGroup[] = [];
  let current: { group: ControlGroup; control?: Control } | undefined;
  const seen = new Set<string>();
  const finish = () => {
    const c = current?.control;
    if (c) c.title = firstSentence(c.text);
  };
  for (const raw of markdown.split(/\r?\n/)) {
    const group = GROUP.exec(raw);
    if (group) {
      finish();
      current = { group: { letter: group[1]!, name: group[2]!, controls: [] } };
      groups.push(current.group);
      continue;
    }
    if (!current) continue;
    const item = ITEM.exec(raw);
    if (item) {
      finish();
      const id = item[1]!;
      if (!id.startsWith(current.group.letter))
        throw new Error(`control ${id} is listed under group ${current.group.letter}`);
      if (seen.has(id)) throw new Error(`control ${id} is listed twice`);
      seen.add(id);
      current.control = { id, title: '', text: item[2]!.trim() };
      current.group.controls.push(current.control);
    } else if (current.control && /^\s+\S/.test(raw)) {
      current.control.text += ` ${raw.trim()}`;
    } else {
      finish();
      current.control = undefined;
    }
  }
  finish();
  return groups.filter((g) => g.controls.length > 0);
}

let cached: ControlGroup[] | undefined;

/** The deployed catalogue, read once. */
export function catalogue(file = CATALOGUE_FILE): ControlGroup[] {
  if (file !== CATALOGUE_FILE) return parseCatalogue(readFileSync(file, 'utf8'));
  cached ??= parseCatalogue(readFileSync(file, 'utf8'));
  return cached;
}
