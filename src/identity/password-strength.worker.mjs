// zxcvbn in a worker thread: its dictionaries stay out of the server's heap, and an input that
// makes it compute for seconds (Levenshtein matching over every dictionary) cannot stall requests.
import { parentPort } from 'node:worker_threads';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';

const estimator = new ZxcvbnFactory({
  translations: en.translations,
  graphs: common.adjacencyGraphs,
  dictionary: { ...common.dictionary, ...en.dictionary },
  useLevenshteinDistance: true,
  // Strength is judged on the first 64 characters: a weak start stays weak, and the matchers' cost grows
  // faster than linearly with length.
  maxLength: 64,
});

parentPort.postMessage({ ready: true });
parentPort.on('message', ({ id, password, inputs }) => {
  const { score, feedback } = estimator.check(password, inputs);
  parentPort.postMessage({ id, score, warning: feedback.warning, suggestion: feedback.suggestions[0] ?? null });
});
