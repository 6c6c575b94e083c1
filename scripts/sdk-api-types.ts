// `npm run sdk:types`: writes packages/node/src/api-types.ts, the types of Rampart's JSON API, from the OpenAPI
// document the app serves at /docs/openapi.json (built in-process, never listening). A test in packages/node fails
// when the committed file differs from what this makes of the current routes.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FEATURES } from '../src/features.js';
import { projectRoot } from '../src/platform/paths.js';
import { errorSections } from '../src/registry-docs.js';
import { createTestApp } from '../test/helpers/app.js';

export const API_TYPES_FILE = path.join(projectRoot, 'packages', 'node', 'src', 'api-types.ts');

/** The subset of JSON Schema that TypeBox emits and Fastify's swagger passes on. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema | JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  nullable?: boolean;
  format?: string;
  description?: string;
  $ref?: string;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  description?: string;
  schema?: JsonSchema;
}

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: JsonSchema }> }>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

/** The document /docs/openapi.json serves, from an app built on an embedded database. */
export async function openApiDocument(): Promise<OpenApiDocument> {
  const t = await createTestApp();
  try {
    return t.app.swagger() as unknown as OpenApiDocument;
  } finally {
    await t.close();
  }
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (name: string) => (IDENTIFIER.test(name) ? name : JSON.stringify(name));
const literal = (value: unknown) => JSON.stringify(value);
/** A JSDoc comment, wrapped to the 120 columns of the line-length check; `*\/` cannot end it early. */
function doc(text: string | undefined, indent: string): string {
  if (!text) return '';
  const flat = text.replaceAll('*/', '*\\/').replace(/\s+/g, ' ').trim();
  if (indent.length + flat.length + 7 <= 120) return `${indent}/** ${flat} */\n`;
  const width = 120 - indent.length - 3;
  const lines: string[] = [];
  let line = '';
  for (const word of flat.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l}\n`).join('')}${indent} */\n`;
}

/** A JSON Schema as a TypeScript type. `$ref`s name the component types. */
export function typeOf(schema: JsonSchema | boolean | undefined, indent = ''): string {
  if (schema === undefined || schema === true) return 'unknown';
  if (schema === false) return 'never';
  const t = bareType(schema, indent);
  return schema.nullable && t !== 'unknown' ? `${t} | null` : t;
}

function union(parts: string[]): string {
  const unique = [...new Set(parts)];
  if (unique.includes('unknown')) return 'unknown';
  return unique.length === 0 ? 'never' : unique.map((p) => (p.includes('=>') ? `(${p})` : p)).join(' | ');
}

function bareType(s: JsonSchema, indent: string): string {
  if (s.$ref) {
    const name = /^#\/components\/schemas\/(.+)$/.exec(s.$ref)?.[1];
    if (!name) throw new Error(`unsupported $ref ${s.$ref}`);
    return `Components[${literal(name)}]`;
  }
  if (s.const !== undefined) return literal(s.const);
  if (s.enum) return union(s.enum.map(literal));
  if (s.anyOf) return union(s.anyOf.map((x) => typeOf(x, indent)));
  if (s.oneOf) return union(s.oneOf.map((x) => typeOf(x, indent)));
  if (s.allOf) return s.allOf.map((x) => `(${typeOf(x, indent)})`).join(' & ');
  const types = s.type === undefined ? [] : [s.type].flat();
  if (types.length === 0) return s.properties ? objectType(s, indent) : 'unknown';
  return union(types.map((type) => typeNamed(type, s, indent)));
}

function typeNamed(type: string, s: JsonSchema, indent: string): string {
  switch (type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      if (Array.isArray(s.items)) return `[${s.items.map((x) => typeOf(x, indent)).join(', ')}]`;
      return `Array<${typeOf(s.items, indent)}>`;
    case 'object':
      return objectType(s, indent);
    default:
      throw new Error(`unsupported JSON Schema type ${type}`);
  }
}

function objectType(s: JsonSchema, indent: string): string {
  const inner = `${indent}  `;
  const required = new Set(s.required ?? []);
  const lines = Object.entries(s.properties ?? {}).map(
    ([name, prop]) =>
      `${doc(prop.description, inner)}${inner}${key(name)}${required.has(name) ? '' : '?'}: ${typeOf(prop, inner)};\n`,
  );
  const extra = s.additionalProperties;
  if (extra !== undefined && extra !== false) lines.push(`${inner}[key: string]: ${typeOf(extra, inner)};\n`);
  else if (extra === undefined && lines.length === 0) lines.push(`${inner}[key: string]: unknown;\n`);
  return lines.length === 0 ? 'Record<string, never>' : `{\n${lines.join('')}${indent}}`;
}

function parametersType(params: Parameter[], indent: string): string {
  const inner = `${indent}  `;
  const lines = params.map(
    (p) => `${doc(p.description, inner)}${inner}${key(p.name)}${p.required ? '' : '?'}: ${typeOf(p.schema, inner)};\n`,
  );
  return `{\n${lines.join('')}${indent}}`;
}

function jsonSchemaOf(content: Record<string, { schema?: JsonSchema }> | undefined): JsonSchema | undefined {
  if (!content) return undefined;
  const json = Object.entries(content).find(([type]) => /^application\/([a-z.+-]+\+)?json/.test(type));
  return json?.[1].schema;
}

function operationType(method: string, route: string, op: Operation, indent: string): string {
  const inner = `${indent}  `;
  const params = op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path').map((p) => ({ ...p, required: true }));
  const query = params.filter((p) => p.in === 'query');
  const lines: string[] = [];
  const add = (name: string, optional: boolean, type: string) =>
    lines.push(`${inner}${name}${optional ? '?' : ''}: ${type};\n`);
  if (pathParams.length > 0) add('params', false, parametersType(pathParams, inner));
  if (query.length > 0) add('query', !query.some((p) => p.required), parametersType(query, inner));
  if (op.requestBody) add('body', !op.requestBody.required, typeOf(jsonSchemaOf(op.requestBody.content), inner));
  const responses = Object.entries(op.responses ?? {}).map(([status, r]) => {
    const json = jsonSchemaOf(r.content);
    // A response with no JSON content: 204 has no body at all; others (CSV exports) are read as text.
    const type = json ? typeOf(json, `${inner}  `) : status === '204' ? 'undefined' : 'string';
    return `${inner}  ${/^\d+$/.test(status) ? status : literal(status)}: ${type};\n`;
  });
  add('responses', false, `{\n${responses.join('')}${inner}}`);
  const summary = [op.summary, op.tags?.length ? `(${op.tags.join(', ')})` : ''].filter(Boolean).join(' ');
  const name = method.toUpperCase();
  return `${doc(`${name} ${route}: ${summary}`, indent)}${indent}${name}: {\n${lines.join('')}${indent}};\n`;
}

/** Every error code the API answers with (docs/errors.md), keyed by code, with its one status. */
export function errorCodesSource(): string {
  const seen = new Set<string>();
  const rows = errorSections(FEATURES).flatMap((section) =>
    Object.entries(section.catalog.codes).flatMap(([code, spec]) => {
      if (seen.has(code)) return [];
      seen.add(code);
      return [
        `${doc(`${spec.status}: ${spec.description} (${section.title})`, '  ')}  ${key(code)}: ${spec.status};\n`,
      ];
    }),
  );
  return `/** The stable \`error.code\` values of Rampart's error bodies (docs/errors.md), each with its HTTP status. */
export interface RampartErrorStatuses {
${rows.join('')}}

export type RampartErrorCode = keyof RampartErrorStatuses;
`;
}

/** The source of packages/node/src/api-types.ts for an OpenAPI document (before formatting). */
export function apiTypesSource(openapi: OpenApiDocument): string {
  const paths = Object.entries(openapi.paths)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([route, item]) => {
      const ops = METHODS.filter((m) => item[m]).map((m) => operationType(m, route, item[m]!, '    '));
      return `  ${literal(route)}: {\n${ops.join('')}  };\n`;
    });
  const components = Object.entries(openapi.components?.schemas ?? {}).map(
    ([name, schema]) => `${doc(schema.description, '  ')}  ${key(name)}: ${typeOf(schema, '  ')};\n`,
  );
  const componentsType = components.length
    ? `export interface Components {\n${components.join('')}}`
    : 'export type Components = Record<string, never>;';
  return `// Generated by \`npm run sdk:types\` (scripts/sdk-api-types.ts) from Rampart's OpenAPI document
// (${openapi.info.title} ${openapi.info.version}, served at /docs/openapi.json). Do not edit: a test fails when this
// file differs from what the current routes generate.

/** Every operation of the JSON API, by path (OpenAPI template, \`{orgId}\`) and method. */
export interface RampartPaths {
${paths.join('')}}

/** Shared schemas (\`#/components/schemas\`). */
${componentsType}

${errorCodesSource()}`;
}

/** Biome's formatting of the generated source, as \`npx biome check --write\` would leave it. */
export function formatted(source: string): string {
  const biome = path.join(projectRoot, 'node_modules', '.bin', 'biome');
  return execFileSync(biome, ['format', `--stdin-file-path=${path.relative(projectRoot, API_TYPES_FILE)}`], {
    cwd: projectRoot,
    input: source,
    encoding: 'utf8',
  });
}

export async function generateApiTypes(): Promise<string> {
  return formatted(apiTypesSource(await openApiDocument()));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(API_TYPES_FILE, await generateApiTypes());
  console.log(`wrote ${path.relative(projectRoot, API_TYPES_FILE)}`);
}
