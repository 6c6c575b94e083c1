/*
 * X3: /.well-known/security.txt (RFC 9116): what it says, and the validator that both the tests and
 * the live trust check read it with.
 */

export interface SecurityTxtInput {
  baseUrl: string;
  productName: string;
  /** The operator's security contact: an e-mail address or an https:// URL, or null. */
  securityContact: string | null;
  policyUrl: string | null;
  preferredLanguages: string;
  now: Date;
}

/** The first day of the month after next, 00:00 UTC: always a month or more ahead and under a year. */
export function expiresFor(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 1));
}

const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Comments and values come from the operator's settings: no line break may reach the file. */
const oneLine = (s: string) => s.replace(/[\r\n\u0085\u2028\u2029]+/g, ' ');

export function securityTxt(input: SecurityTxtInput): string {
  const { baseUrl } = input;
  const lines = [`# Security contact of ${oneLine(input.productName)} (RFC 9116)`];
  if (input.securityContact) {
    const c = oneLine(input.securityContact);
    lines.push(`Contact: ${c.startsWith('https://') ? c : `mailto:${c}`}`);
  }
  lines.push(`Contact: ${baseUrl}/security/report`);
  lines.push(`Expires: ${rfc3339(expiresFor(input.now))}`);
  lines.push(`Policy: ${input.policyUrl ? oneLine(input.policyUrl) : `${baseUrl}/security/policy`}`);
  lines.push(`Acknowledgments: ${baseUrl}/security/thanks`);
  lines.push(`Preferred-Languages: ${oneLine(input.preferredLanguages)}`);
  lines.push(`Canonical: ${baseUrl}/.well-known/security.txt`);
  return `${lines.join('\n')}\n`;
}

export interface SecurityTxtVerdict {
  ok: boolean;
  problems: string[];
  fields: Array<{ name: string; value: string }>;
}

const FIELD = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/;
const URI_FIELDS = new Set(['contact', 'encryption', 'acknowledgments', 'policy', 'hiring', 'canonical', 'csaf']);
const LANGUAGE_TAG = /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/;
// RFC 3339 date-time (section 5.6), the offset required.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

const isLoopback = (host: string) => host === 'localhost' || host === '127.0.0.1' || host === '[::1]';

function uriProblem(name: string, value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${name}: "${value}" is not a URI`;
  }
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value)) return `${name}: "${value}" is not a URI`;
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) return `${name}: a web URI must begin with https://`;
  if (name === 'contact' && !['mailto:', 'https:', 'http:', 'tel:'].includes(url.protocol))
    return `contact: "${value}" is not a mailto:, tel: or https:// URI`;
  if (name === 'contact' && url.protocol === 'mailto:' && !/^[^@\s]+@[^@\s]+$/.test(decodeURIComponent(url.pathname)))
    return `contact: "${value}" has no e-mail address`;
  return undefined;
}

/**
 * RFC 9116's rules for a security.txt file: field syntax (section 3 and its ABNF), Contact required
 * and a URI (2.5.3), Expires exactly once, an RFC 3339 date-time in the future and, as recommended,
 * less than a year ahead (2.5.5), Preferred-Languages at most once (2.5.8), web URIs https:// (2.5
 * and 3; http://localhost is let through for development), Canonical naming where it was read from
 * (2.5.2), line endings LF or CRLF with the last line ended (the ABNF's eol). Unknown fields are
 * allowed (2.4). A PGP-signed file is not read.
 */
export function validateSecurityTxt(text: string, opts: { now: Date; canonical?: string }): SecurityTxtVerdict {
  const problems: string[] = [];
  const fields: Array<{ name: string; value: string }> = [];
  if (text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) problems.push('signed files are not read here');
  if (text.length === 0) problems.push('the file is empty');
  else if (!text.endsWith('\n')) problems.push('the last line has no line ending');
  if (/\r(?!\n)/.test(text)) problems.push('a line ends with a bare CR');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (/^[ \t]*$/.test(line) || line.startsWith('#')) return;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(line)) {
      problems.push(`line ${i + 1}: control character`);
      return;
    }
    const m = FIELD.exec(line);
    if (!m) {
      problems.push(`line ${i + 1}: not a field ("name: value"), a comment or blank`);
      return;
    }
    fields.push({ name: m[1]!.toLowerCase(), value: m[2]! });
  });
  const all = (name: string) => fields.filter((f) => f.name === name).map((f) => f.value);

  for (const f of fields) {
    if (f.value === '') problems.push(`${f.name}: empty value`);
    else if (URI_FIELDS.has(f.name)) {
      const p = uriProblem(f.name, f.value);
      if (p) problems.push(p);
    }
  }
  if (all('contact').length === 0) problems.push('contact: required, and missing');

  const expires = all('expires');
  if (expires.length !== 1) problems.push(`expires: must appear exactly once (found ${expires.length})`);
  else {
    const m = DATE_TIME.exec(expires[0]!);
    const at = m ? new Date(expires[0]!) : undefined;
    if (!m || !at || Number.isNaN(at.getTime())) problems.push(`expires: "${expires[0]}" is not an RFC 3339 date-time`);
    else if (at.getTime() <= opts.now.getTime()) problems.push(`expires: ${expires[0]} is in the past`);
    else if (at.getTime() - opts.now.getTime() >= YEAR_MS)
      problems.push(`expires: ${expires[0]} is a year or more ahead`);
  }

  const languages = all('preferred-languages');
  if (languages.length > 1) problems.push('preferred-languages: must appear at most once');
  for (const value of languages)
    for (const tag of value.split(','))
      if (!LANGUAGE_TAG.test(tag.trim())) problems.push(`preferred-languages: "${tag.trim()}" is not a language tag`);

  if (opts.canonical !== undefined) {
    const canonical = all('canonical');
    if (canonical.length > 0 && !canonical.includes(opts.canonical))
      problems.push(`canonical: does not name ${opts.canonical}`);
    if (canonical.length === 0) problems.push(`canonical: missing (expected ${opts.canonical})`);
  }
  return { ok: problems.length === 0, problems, fields };
}
