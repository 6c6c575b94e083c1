import type { Command } from 'commander';
import { asOperator, type CommandWrap, type OperatorContext, type WithOperator } from '../feature.js';
import { OperatorError } from '../platform/errors.js';
import { systemClock } from '../platform/clock.js';
import type { Tx } from '../platform/db/database.js';
import { appendAudit, systemStream } from '../platform/audit/events.js';
import { createClientRegistry } from './clients.js';
import { createDeliveries } from './deliveries.js';
import { createSigningKeys, PUBLISH_AHEAD_MS } from './signing-keys.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `rampart clients …` and `rampart keys rotate-signing|signing` (A10). */
export function oidcCommands(program: Command, keys: Command, withOperator: WithOperator, wrap: CommandWrap): void {
  const registry = (ctx: OperatorContext) =>
    // The stand-in secret key is only needed by a running provider, never by these commands.
    createClientRegistry({ db: ctx.db, clock: systemClock, secretKey: Buffer.alloc(32), dev: ctx.config.dev });

  const clients = program
    .command('clients')
    .description('The products that sign people in through Rampart (OpenID Connect clients, control A10).');
  clients
    .command('add')
    .description(
      'Register a product. Confidential clients (the default) get a secret, printed once as ' +
        '`client_secret: …` and stored only as a hash; --public clients use PKCE alone. Redirect URIs are ' +
        'matched exactly and must be https (http only on localhost, or anywhere in dev mode).',
    )
    .requiredOption('--id <client-id>', 'the client id (3-64 letters, digits, dots, dashes, underscores)')
    .requiredOption('--name <name>', 'the name people see on the sign-in and consent pages')
    .requiredOption('--redirect-uri <uri>', 'an allowed redirect URI (repeat for more)', collect)
    .option('--post-logout-uri <uri>', 'an allowed post-logout redirect URI (repeat for more)', collect)
    .option('--backchannel-uri <uri>', 'where Rampart POSTs back-channel logout tokens')
    .option('--first-party', 'run by you: people are not asked for consent')
    .option('--public', 'a public client (SPA, mobile, CLI): no secret, PKCE only')
    .action(
      wrap(
        async (opts: {
          id: string;
          name: string;
          redirectUri: string[];
          postLogoutUri?: string[];
          backchannelUri?: string;
          firstParty?: boolean;
          public?: boolean;
        }) =>
          withOperator(async (ctx) => {
            const { client, secret } = await asOperator(() =>
              registry(ctx).add(
                {
                  clientId: opts.id,
                  name: opts.name,
                  confidential: !opts.public,
                  redirectUris: opts.redirectUri,
                  postLogoutRedirectUris: opts.postLogoutUri,
                  backchannelLogoutUri: opts.backchannelUri,
                  firstParty: opts.firstParty === true,
                },
                async (tx, added) => {
                  await appendAudit(tx, {
                    stream: systemStream,
                    action: 'oidc.client_added',
                    actor: 'cli',
                    target: `oidc_client:${added.clientId}`,
                    payload: { name: added.name, confidential: added.confidential, firstParty: added.firstParty },
                  });
                },
              ),
            );
            console.log(`client_id: ${client.clientId}`);
            if (secret) console.log(`client_secret: ${secret}`);
            console.log(`issuer: ${ctx.config.baseUrl.replace(/\/$/, '')}`);
          }),
      ),
    );
  clients
    .command('list')
    .description(
      'List the registered products, with the back-channel logout deliveries that failed in the last 24 hours ' +
        '(details: GET /api/v1/operator/clients/<id>).',
    )
    .action(
      wrap(() =>
        withOperator(async (ctx) => {
          const all = await registry(ctx).list();
          const failed = await createDeliveries({ db: ctx.db, clock: systemClock }).failedInADay();
          if (all.length === 0) console.log('no clients registered');
          for (const c of all) {
            const kind = `${c.confidential ? 'confidential' : 'public'}, ${c.firstParty ? 'first' : 'third'} party`;
            console.log(`${c.clientId}  "${c.name}"  (${kind})`);
            for (const uri of c.redirectUris) console.log(`  redirect     ${uri}`);
            for (const uri of c.postLogoutRedirectUris) console.log(`  post-logout  ${uri}`);
            if (c.backchannelLogoutUri) {
              const n = failed.get(c.clientId) ?? 0;
              const health = n > 0 ? `back-channel: ${n} failed in 24h` : 'back-channel: no failures in 24h';
              console.log(`  back-channel ${c.backchannelLogoutUri}  (${health})`);
            }
          }
        }),
      ),
    );
  clients
    .command('remove <client-id>')
    .description('Remove a product and everything issued to it: its tokens stop working at once.')
    .action(
      wrap((clientId: string) =>
        withOperator(async (ctx) => {
          const audit = (tx: Tx) =>
            appendAudit(tx, {
              stream: systemStream,
              action: 'oidc.client_removed',
              actor: 'cli',
              target: `oidc_client:${clientId}`,
            }).then(() => undefined);
          if (!(await registry(ctx).remove(clientId, audit)))
            throw new OperatorError(`no client "${clientId}" is registered`);
          console.log(`removed ${clientId}`);
        }),
      ),
    );

  keys
    .command('rotate-signing')
    .description(
      `Make a new token signing key. It is published in the JWKS now and starts signing in ` +
        `${PUBLISH_AHEAD_MS / 60_000} minutes (every instance picks it up); the key it replaces stays ` +
        'published until the tokens it signed have expired.',
    )
    .action(
      wrap(() =>
        withOperator(async (ctx) => {
          const { kid, signsFrom } = await createSigningKeys({ ...ctx, clock: systemClock }).rotate();
          console.log(`new signing key ${kid}: published now, signs from ${signsFrom.toISOString()}`);
        }),
      ),
    );
  keys
    .command('signing')
    .description('List the token signing keys and their state.')
    .action(
      wrap(() =>
        withOperator(async (ctx) => {
          const now = Date.now();
          for (const k of await createSigningKeys({ ...ctx, clock: systemClock }).list()) {
            const state = k.retiredAt
              ? `retired ${k.retiredAt.toISOString()}, published until ${k.unpublishAfter?.toISOString()}`
              : k.signsFrom.getTime() > now
                ? `published, signs from ${k.signsFrom.toISOString()}`
                : 'signing';
            console.log(`${k.kid}  ${k.alg}  ${state}`);
          }
        }),
      ),
    );
}
