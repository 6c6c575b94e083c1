import { describe, expect, it } from 'vitest';
import { accounts, freshEmail } from '../../test/helpers/accounts.js';
import { fileTestApp } from '../../test/helpers/app.js';
import { operatorClient } from '../../test/helpers/operator.js';
import { createOperatorConsole } from './index.js';

const t = await fileTestApp();
const people = accounts(t);
const consoleOf = () => createOperatorConsole({ db: t.db, clock: t.clock });

describe('operator console', () => {
  it('[X7] only a granted account with a second-factor session opens the console; ungrant works at once', async () => {
    const anonymous = await (await people.signedIn(await people.verified())).page('/operator');
    expect(anonymous.statusCode).toBe(403);

    const email = await people.verified();
    await consoleOf().grant(email);
    const oneFactor = await people.signedIn(email);
    expect((await oneFactor.page('/operator')).statusCode).toBe(403); // granted, but no second factor

    const { client, email: op } = await operatorClient(t);
    const home = await client.page('/operator');
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('Product and contact');
    await consoleOf().ungrant(op);
    expect((await client.page('/operator')).statusCode).toBe(403);
  });

  it('[X7] the console sends a browser that is not signed in to sign-in and back', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/operator/settings', headers: { accept: 'text/html' } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/signin?next=%2Foperator%2Fsettings');
  });

  it('[X3] settings are validated field by field, saved whole, and audited', async () => {
    const { client } = await operatorClient(t);
    const bad = await client.form('/operator/settings', {
      productName: 'Acme\u0007',
      securityContact: 'http://insecure.example',
      policyUrl: 'javascript:alert(1)',
      policyText: '',
      preferredLanguages: 'english',
    });
    expect(bad.statusCode).toBe(400);
    for (const field of ['productName', 'securityContact', 'policyUrl', 'preferredLanguages'])
      expect(bad.body).toContain(`id="field-${field}-error"`);
    expect((await consoleOf().settings()).productName).toBe('Rampart');

    const good = await client.form('/operator/settings', {
      productName: 'Acme Cloud',
      securityContact: 'security@acme.example',
      policyUrl: '',
      policyText: 'Report to us; we answer within two business days.',
      preferredLanguages: 'en, de',
    });
    expect(good.statusCode).toBe(303);
    const saved = await consoleOf().settings();
    expect(saved).toMatchObject({
      productName: 'Acme Cloud',
      securityContact: 'security@acme.example',
      policyUrl: null,
    });
    const audit = await t.db.withSystem((tx) =>
      tx.selectFrom('audit_events').select('action').where('action', '=', 'operator.settings_changed').execute(),
    );
    expect(audit.length).toBeGreaterThan(0);
  });

  it('[X7] granting an address without an account is refused', async () => {
    await expect(consoleOf().grant(freshEmail())).rejects.toMatchObject({ code: 'operator_user_not_found' });
  });
});
