import type { Command } from 'commander';
import { asOperator, type CommandWrap, type WithOperator } from '../feature.js';
import { systemClock } from '../platform/clock.js';
import { createOperatorTokens } from './service.js';

const when = (d: Date | null) => (d ? d.toISOString() : 'never');

/** `rampart operator tokens create|list|revoke`. */
export function operatorCommands(program: Command, withDatabase: WithOperator, wrap: CommandWrap): void {
  const tokens = program
    .command('operator')
    .description('The operator of this deployment: API tokens for the operator API (docs/operator.md).')
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
