import { fileTestApp } from './helpers/app.js';
import { isJsonRoute, isOrgPage, NAUGHTY_ENV, naughtyInputTests } from './helpers/naughty.js';

/*
 * R5, R6, every other page and form (sign-up, sign-in, links, account, two-factor, sign-out,
 * docs, static files): every Big List of Naughty Strings entry (and a few of ours), then
 * out-of-range numbers, into every path parameter, query parameter and form field, one field at a
 * time with valid values in the others, as a signed-in browser with a valid CSRF field (the
 * second-factor pages as a sign-in waiting for its code). Nothing may answer 5xx. See
 * test/helpers/naughty.ts.
 */

const t = await fileTestApp(NAUGHTY_ENV);
naughtyInputTests(t, 'every other page', (route) => !isJsonRoute(route) && !isOrgPage(route));
