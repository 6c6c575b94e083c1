import { Type, type TInteger, type TOptional, type TString } from '@sinclair/typebox';

/** For routes that take no input at all: any query parameter is refused (R5). */
export const noInput = { querystring: Type.Object({}, { additionalProperties: false }) };

export const uuidParam = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

/**
 * A 204 answer: the schema `{ type: 'null' }`, typed `void` so that a handler answers with
 * `reply.code(204).send()` (no body) rather than a `null` that would go through the serializer.
 */
export const NoBody = Type.Unsafe<void>(Type.Null());

/*
 * R5: input is bounded and cleaned in the schema layer, through two keywords of our own (`x-`, so
 * the OpenAPI document carries them as extensions). They are untyped keywords, which Ajv runs
 * after type coercion and before the string and number keywords, so maxLength, minLength, format
 * and the range see the cleaned value.
 */

const TEXT = 'x-text';
const FINITE = 'x-finite';

/**
 * Trimmed from both ends of text: Unicode White_Space (JavaScript's \s has all of it but U+0085
 * NEXT LINE), U+FEFF (BOM, in \s too), and the zero-width characters that look like nothing
 * (U+180E, U+200B-U+200D, U+2060).
 */
const EDGE = /[\s\u0085\u180e\u200b-\u200d\u2060]/;
/** Control characters (C0, DEL, C1): PostgreSQL cannot store NUL, and none belongs in a name. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_MULTILINE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Without a regular expression: `\s+$` backtracks quadratically on a long run of spaces. */
export function trimText(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && EDGE.test(value[start]!)) start++;
  while (end > start && EDGE.test(value[end - 1]!)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

interface TextRule {
  /** `reject`: blank after trimming is "is required". `omit`: an optional field left blank is as if absent. */
  blank: 'reject' | 'omit';
  /** Line breaks and tabs allowed (a note); otherwise every control character is refused. */
  multiline?: boolean;
}

interface KeywordContext {
  parentData?: Record<string | number, unknown>;
  parentDataProperty?: string | number;
}

// biome-ignore lint/suspicious/noExplicitAny: Ajv hands a keyword its schema value and parent schema untyped
type KeywordValidate = ((rule: any, data: unknown, parentSchema: any, cxt?: KeywordContext) => boolean) & {
  errors?: unknown[] | null;
};

function keywordError(validate: KeywordValidate, keyword: string, message: string): false {
  validate.errors = [{ keyword, message, params: {} }];
  return false;
}

const validateText: KeywordValidate = function validateText(rule: TextRule, data, _schema, cxt) {
  if (typeof data !== 'string' || !cxt?.parentData || cxt.parentDataProperty === undefined) return true;
  const value = trimText(data);
  if (value === '' && rule.blank === 'omit') {
    delete cxt.parentData[cxt.parentDataProperty];
    return true;
  }
  cxt.parentData[cxt.parentDataProperty] = value;
  if (value === '') return keywordError(validateText, TEXT, 'is required');
  if ((rule.multiline ? CONTROL_MULTILINE : CONTROL).test(value))
    return keywordError(validateText, TEXT, 'must not contain control characters');
  if (LONE_SURROGATE.test(value)) return keywordError(validateText, TEXT, 'must be valid Unicode text');
  return true;
};

/**
 * Ajv's coercion turns the query string "Infinity" (or "1e999") into a number and skips every
 * number keyword for it, minimum and maximum included (ajv#2212): this refuses what is not finite.
 */
const validateFinite: KeywordValidate = function validateFinite(
  _rule: true,
  data,
  schema: { minimum?: number; maximum?: number },
) {
  if (typeof data !== 'number' || Number.isFinite(data)) return true;
  return keywordError(
    validateFinite,
    FINITE,
    `must be a number from ${schema.minimum ?? '-∞'} to ${schema.maximum ?? '∞'}`,
  );
};

/** The Ajv plugin that defines the keywords; `app.ts` gives it to Fastify's validator compiler. */
// biome-ignore lint/suspicious/noExplicitAny: Ajv's keyword definition type is not exported through Fastify
export function inputKeywords<A extends { addKeyword(definition: any): unknown }>(ajv: A): A {
  ajv.addKeyword({ keyword: TEXT, modifying: true, errors: true, schemaType: 'object', validate: validateText });
  ajv.addKeyword({ keyword: FINITE, errors: true, schemaType: 'boolean', validate: validateFinite });
  return ajv;
}

interface TextOptions {
  maxLength: number;
  minLength?: number;
  format?: string;
  multiline?: boolean;
  description?: string;
}

/**
 * A text field a person types (a name, a note, an address): trimmed of whitespace at both ends,
 * refused when blank after that, when it holds control characters or broken UTF-16, or when it is
 * longer than `maxLength` (counted after trimming). Not for passwords (their spaces are part of
 * them) nor for tokens and ids (they have exact shapes).
 */
export function Text(options: TextOptions): TString {
  const { multiline, ...rest } = options;
  return Type.String({ minLength: 1, ...rest, [TEXT]: { blank: 'reject', ...(multiline ? { multiline } : {}) } });
}

/** An optional text field (a filter, a note): as Text, but left blank it is as if it was not sent. */
export function OptionalText(options: TextOptions): TOptional<TString> {
  const { multiline, minLength, ...rest } = options;
  return Type.Optional(
    Type.String({
      ...(minLength ? { minLength } : {}),
      ...rest,
      [TEXT]: { blank: 'omit', ...(multiline ? { multiline } : {}) },
    }),
  );
}

/** An e-mail address as people type or paste it (trimmed). */
export const Email = Text({ format: 'email', minLength: 3, maxLength: 254 });

/**
 * An integer between two bounds, both required: a database column has a range (bigint, or a
 * sequence number: Number.MAX_SAFE_INTEGER keeps it exact in JavaScript), and so does every input.
 */
export function Int(options: { minimum: number; maximum: number; description?: string }): TInteger {
  return Type.Integer({ ...options, [FINITE]: true });
}
