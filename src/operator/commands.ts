import type { Command } from 'commander';
import { asOperator, type CommandWrap, type WithOperator } from '../feature.js';
import { systemClock } from '../platform/clock.js';
import { createOperatorConsole } from './console.js';
import { createOperatorTokens } from './service.js';

const when = (d: Date | null) => (d ? d.toISOString() : 'never');

/** `rampart operator tokens create|list|revoke`. */
export function operatorCommands(program: Command, withDatabase: WithOperator, wrap: CommandWrap): void {
  const operator = program
    .command('operator')
    .description(
      'The operator of this deployment: the console and API tokens for the operator API (docs/operator.md).',
    );
  operatorConsoleCommands(operator, withDatabase, wrap);
  const tokens = operator
    .command('tokens')
    .description('Operator API tokens: `Authorization: Bearer rop_…` on /api/v1/operator/* routes.');
  tokens
    .command('create <name>')
    .description(
      'Make an operator token named <name> (1-64 letters, digits, dots, dashes, underscores). The token is ' +
        'printed once and stored only as a SHA-256 hash: keep it in your secret store.',
    )
    .action(
      wrap((name: string) =>
        withDatabase(async ({ db }) => {
          const { token, info } = await asOperator(() => createOperatorTokens({ db, clock: systemClock }).create(name));
          console.log(`operator_token: ${token}`);
          console.log(`name: ${info.name}  id: ${info.id}`);
          process.stderr.write('rampart: this is the only time the token is shown\n');
        }),
      ),
    );
  tokens
    .command('list')
    .description('List the operator tokens: name, id, created, last used, revoked (never the token itself).')
    .action(
      wrap(() =>
        withDatabase(async ({ db }) => {
          const all = await createOperatorTokens({ db, clock: systemClock }).list();
          if (all.length === 0) console.log('no operator tokens');
          for (const t of all) {
            const state = t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : 'live';
            console.log(`${t.name}  ${t.id}  created ${when(t.createdAt)}  last used ${when(t.lastUsedAt)}  ${state}`);
          }
        }),
      ),
    );
  tokens
    .command('revoke <name-or-id>')
    .description('Revoke an operator token (by name or id): it is refused from its next request on.')
    .action(
      wrap((nameOrId: string) =>
        withDatabase(async ({ db }) => {
          const info = await asOperator(() => createOperatorTokens({ db, clock: systemClock }).revoke(nameOrId));
          console.log(`revoked ${info.name} (${info.id})`);
        }),
      ),
    );
}

/** `rampart operator grant|ungrant|users`: who may open the operator console (/operator). */
function operatorConsoleCommands(operator: Command, withDatabase: WithOperator, wrap: CommandWrap): void {
  const consoleOf = (db: Parameters<Parameters<WithOperator>[0]>[0]['db']) =>
    createOperatorConsole({ db, clock: systemClock });
  operator
    .command('grant <email>')
    .description(
      'Let the account with this e-mail address open the operator console (/operator). Its pages also need a ' +
        'session signed in with a second factor.',
    )
    .action(
      wrap((email: string) =>
        withDatabase(async ({ db }) => {
          const granted = await asOperator(() => consoleOf(db).grant(email));
          console.log(granted ? `granted the operator console to ${email}` : `${email} already has the console`);
        }),
      ),
    );
  operator
    .command('ungrant <email>')
    .description('Take the operator console away from an account: its next console request is refused.')
    .action(
      wrap((email: string) =>
        withDatabase(async ({ db }) => {
          const removed = await asOperator(() => consoleOf(db).ungrant(email));
          console.log(removed ? `${email} no longer has the console` : `${email} did not have the console`);
        }),
      ),
    );
  operator
    .command('users')
    .description('List the accounts that may open the operator console.')
    .action(
      wrap(() =>
        withDatabase(async ({ db }) => {
          const users = await consoleOf(db).users();
          if (users.length === 0) console.log('no operator console accounts');
          for (const u of users) console.log(`${u.email}  granted ${u.granted_at.toISOString()}`);
        }),
      ),
    );
}
