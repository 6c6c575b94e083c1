import { describe, expect, it } from 'vitest';
import { addBusinessDays } from './business-days.js';
import { securityTxt, validateSecurityTxt } from './security-txt.js';

/* X3: the RFC 9116 validator (the trust check reads security.txt with it too) and business-day arithmetic. */

describe('security.txt (RFC 9116)', () => {
  const now = new Date('2026-12-03T06:00:00Z');
  const canonical = 'https://rampart.example/.well-known/security.txt';
  const good = securityTxt({
    baseUrl: 'https://rampart.example',
    productName: 'Acme',
    securityContact: 'security@acme.example',
    policyUrl: null,
    preferredLanguages: 'en, de',
    now,
  });

  it('[X3] the file Rampart writes passes the validator; Expires is the first of the month after next', () => {
    const verdict = validateSecurityTxt(good, { now, canonical });
    expect(verdict.problems).toEqual([]);
    expect(verdict.fields).toContainEqual({ name: 'expires', value: '2027-02-01T00:00:00Z' });
    expect(verdict.fields.filter((f) => f.name === 'contact').map((f) => f.value)).toEqual([
      'mailto:security@acme.example',
      'https://rampart.example/security/report',
    ]);
    // Renewed by itself: read on the last day of any month, it is still more than a month ahead and under a year.
    for (const at of ['2026-12-31T23:59:59Z', '2027-01-31T23:59:59Z', '2027-11-30T12:00:00Z']) {
      const renewed = securityTxt({
        ...{ baseUrl: 'https://rampart.example', productName: 'A' },
        securityContact: null,
        policyUrl: null,
        preferredLanguages: 'en',
        now: new Date(at),
      });
      expect(validateSecurityTxt(renewed, { now: new Date(at), canonical }).problems).toEqual([]);
    }
  });

  it('[X3] the validator fails an expired, a far-off, a malformed or an incomplete file', () => {
    const fails = (text: string, expected: RegExp, at = now) => {
      const verdict = validateSecurityTxt(text, { now: at, canonical });
      expect(verdict.ok).toBe(false);
      expect(verdict.problems.join('\n')).toMatch(expected);
    };
    fails(good, /expires: .* is in the past/, new Date('2027-02-01T00:00:00Z'));
    fails(good.replace(/Expires: .*/, 'Expires: 2028-06-01T00:00:00Z'), /a year or more ahead/);
    fails(good.replace(/Expires: .*/, 'Expires: next month'), /not an RFC 3339 date-time/);
    fails(good.replace(/Expires: .*\n/, ''), /exactly once \(found 0\)/);
    fails(`${good}Expires: 2027-01-01T00:00:00Z\n`, /exactly once \(found 2\)/);
    fails(good.replace(/Contact: .*\n/g, ''), /contact: required/);
    fails(good.replace('mailto:security@acme.example', 'security@acme.example'), /contact: .* not a URI/);
    fails(good.replace('https://rampart.example/security/report', 'http://rampart.example/r'), /https:\/\//);
    fails(`${good}Preferred-Languages: fr\n`, /preferred-languages: must appear at most once/);
    fails(good.replace('en, de', 'en, english language'), /not a language tag/);
    fails(good.replace(canonical, 'https://elsewhere.example/.well-known/security.txt'), /canonical: does not name/);
    fails(`${good}this line is no field\n`, /not a field/);
    fails(good.replace('\nExpires', '\rExpires'), /bare CR/);
    fails(good.slice(0, -1), /last line has no line ending/);
    fails('', /empty/);
    // CRLF line endings are the RFC's too.
    expect(validateSecurityTxt(good.replaceAll('\n', '\r\n'), { now, canonical }).problems).toEqual([]);
  });
});

describe('business days', () => {
  it('[X3] a Friday report is due on Tuesday; weekends are skipped; times are UTC', () => {
    expect(addBusinessDays(new Date('2026-12-04T15:00:00Z'), 2).toISOString()).toBe('2026-12-08T15:00:00.000Z');
    expect(addBusinessDays(new Date('2026-12-07T09:30:00Z'), 2).toISOString()).toBe('2026-12-09T09:30:00.000Z');
    // A weekend arrival counts from Monday 00:00 UTC.
    expect(addBusinessDays(new Date('2026-12-05T10:00:00Z'), 2).toISOString()).toBe('2026-12-09T00:00:00.000Z');
    expect(addBusinessDays(new Date('2026-12-06T23:59:00Z'), 1).toISOString()).toBe('2026-12-08T00:00:00.000Z');
    expect(addBusinessDays(new Date('2026-12-02T12:00:00Z'), 5).toISOString()).toBe('2026-12-09T12:00:00.000Z');
    // Holidays are not known: Christmas Day (a Friday) counts as a business day.
    expect(addBusinessDays(new Date('2026-12-24T12:00:00Z'), 2).toISOString()).toBe('2026-12-28T12:00:00.000Z');
  });
});
