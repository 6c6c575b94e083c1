import { fileTestApp } from './helpers/app.js';
import { isJsonRoute, NAUGHTY_ENV, naughtyInputTests } from './helpers/naughty.js';

/*
 * R5, R6, the JSON API part of the route table: every Big List of Naughty Strings entry (and a
 * few of ours), then out-of-range numbers, into every path parameter, query parameter and body
 * field of every route, one field at a time with valid values in the others, signed in with a
 * valid CSRF token. Nothing may answer 5xx. test/helpers/naughty.ts says how the sweep works; the
 * pages are swept by naughty-input-account-pages and naughty-input-org-pages (three files, so
 * that two test workers share the work).
 */

const t = await fileTestApp(NAUGHTY_ENV);
naughtyInputTests(t, 'every API route', isJsonRoute);
