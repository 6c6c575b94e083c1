import { describe, expect, it } from 'vitest';
import { freshEmail } from '../../test/helpers/accounts.js';
import { createTestApp } from '../../test/helpers/app.js';
import { TestClient } from '../../test/helpers/client.js';
import { checksOf, goodReport, probeOf, send, setContact } from '../../test/helpers/disclosure.js';
import { operatorClient } from '../../test/helpers/operator.js';

describe('acknowledgement deadline', () => {
  it('[X3] a missed deadline is flagged and mailed once across job runs; the trust check names the count', async () => {
    const app = await createTestApp();
    try {
      app.clock.set('2026-12-04T15:00:00Z'); // a Friday
      await setContact(app, 'security@acme.example');
      const { client: op, email: opEmail } = await operatorClient(app);
      const check = checksOf(app).find((c) => c.id === 'disclosure-ack-deadline')!;
      expect((await op.form('/operator/disclosure/settings', { ackBusinessDays: '0' })).statusCode).toBe(400);
      expect((await op.form('/operator/disclosure/settings', { ackBusinessDays: 'two' })).statusCode).toBe(400);
      expect((await op.form('/operator/disclosure/settings', { ackBusinessDays: '2' })).statusCode).toBe(303);

      const a = await send(new TestClient(app.app), app, goodReport(freshEmail(), { summary: 'Deadline A' }));
      const b = await send(new TestClient(app.app), app, goodReport(freshEmail(), { summary: 'Deadline B' }));
      expect([a.statusCode, b.statusCode]).toEqual([303, 303]);
      const [due] = await app.db.withSystem((tx) =>
        tx
          .selectFrom('disclosure_reports')
          .select(['received_at', 'ack_due_at'])
          .where('summary', '=', 'Deadline A')
          .execute(),
      );
      expect(due!.received_at.getUTCDay()).toBe(5); // Friday, a little after 15:00
      expect(due!.ack_due_at.getUTCDay()).toBe(2); // Tuesday, the same time
      expect(due!.ack_due_at.getTime() - due!.received_at.getTime()).toBe(4 * 24 * 60 * 60 * 1000);

      app.clock.set('2026-12-08T15:00:00Z');
      await app.runJob('disclosure.deadlines');
      expect(await check.run({ request: probeOf(app) })).toMatchObject({ status: 'passing' });

      app.clock.set('2026-12-08T16:00:00Z');
      expect(await check.run({ request: probeOf(app) })).toEqual({
        status: 'failing',
        detail: '2 reports are past the 2-business-day acknowledgement deadline unacknowledged',
      });
      expect((await op.page('/operator/disclosure')).body).toContain('2 reports are past the acknowledgement deadline');
      // Another instance of the deployment runs the same job at the same time: each report is claimed once.
      const other = await createTestApp({}, undefined, { db: app.db, sameDeploymentAs: app });
      other.clock.set(app.clock.now());
      try {
        await Promise.all([app.runJob('disclosure.deadlines'), other.runJob('disclosure.deadlines')]);
        await app.runJob('disclosure.deadlines');
        await other.runJob('disclosure.deadlines');
      } finally {
        await other.close();
      }
      await app.mailTo(opEmail, /missed its acknowledgement deadline/);
      await app.mailTo('security@acme.example', /missed its acknowledgement deadline/);
      await app.app.close().catch(() => undefined); // drains the mail still in flight
      const missed = (await app.mailbox.list(500)).filter((m) => /missed its acknowledgement/.test(m.subject));
      expect(missed.filter((m) => m.to === opEmail)).toHaveLength(2); // one per report
      expect(missed.filter((m) => m.to === 'security@acme.example')).toHaveLength(2);
      const audited = await app.db.withSystem((tx) =>
        tx.selectFrom('audit_events').select('id').where('action', '=', 'disclosure.deadline_missed').execute(),
      );
      expect(audited).toHaveLength(2);
    } finally {
      await app.close();
    }
  });
});
