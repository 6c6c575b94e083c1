import { fileTestApp } from './helpers/app.js';
import { isOrgPage, NAUGHTY_ENV, naughtyInputTests } from './helpers/naughty.js';

/*
 * R5, R6, the organization pages and forms (/orgs..., /invitations...): every Big List of Naughty
 * Strings entry (and a few of ours), then out-of-range numbers, into every path parameter, query
 * parameter and form field, one field at a time with valid values in the others, as a signed-in
 * browser with a valid CSRF field. Nothing may answer 5xx. See test/helpers/naughty.ts.
 */

const t = await fileTestApp(NAUGHTY_ENV);
naughtyInputTests(t, 'every organization page', isOrgPage);
