import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;
/** zxcvbn's 0-4 scale; 3 is "safely unguessable: moderate protection from offline slow-hash scenario". */
const MIN_SCORE = 3;

let factory: ZxcvbnFactory | undefined;
function estimator(): ZxcvbnFactory {
  factory ??= new ZxcvbnFactory({
    translations: en.translations,
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...en.dictionary },
    useLevenshteinDistance: true,
  });
  return factory;
}

/**
 * NIST 800-63B: length of at least 12, no composition rules, and refused when a strength
 * estimator with common-password dictionaries finds it guessable. Returns the reason, or null.
 */
export function passwordProblem(password: string, context: { email?: string } = {}): string | null {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH)
    return (
      `Use at least ${MIN_PASSWORD_LENGTH} characters (this has ${length}). A few unrelated words make a ` +
      `strong one.`
    );
  if (length > MAX_PASSWORD_LENGTH) return `Use at most ${MAX_PASSWORD_LENGTH} characters.`;
  const inputs = context.email ? [context.email, ...context.email.split(/[@.+_-]/)].filter((s) => s.length > 2) : [];
  const result = estimator().check(password, inputs);
  if (result.score >= MIN_SCORE) return null;
  const why = result.feedback.warning ?? 'This password is easy to guess.';
  const tip = result.feedback.suggestions[0] ?? 'Add another word or two that are not related.';
  return `${why.replace(/\.?$/, '.')} ${tip}`;
}
