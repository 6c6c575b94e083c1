import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { asOperator, type CommandWrap, type WithOperator } from '../feature.js';
import { OperatorError } from '../platform/errors.js';
import { systemClock } from '../platform/clock.js';
import { createUpstreamRegistry } from './providers.js';

/** The redirect URI to register at an upstream provider for this Rampart. */
export const upstreamRedirectUri = (baseUrl: string, id: string) =>
  `${baseUrl.replace(/\/$/, '')}/sign-in/external/${encodeURIComponent(id)}/callback`;

/** `rampart upstreams add|list|remove` (A7): the OpenID providers people may sign in through. */
export function upstreamCommands(program: Command, withOperator: WithOperator, wrap: CommandWrap): void {
  const upstreams = program
    .command('upstreams')
    .description('The OpenID providers people may sign in through ("Continue with …", control A7).');
  upstreams
    .command('add')
    .description(
      'Configure an upstream OpenID provider. Register Rampart there as a confidential web client first; this ' +
        'prints the redirect URI to register. The client secret is sealed by the master keyring.',
    )
    .requiredOption('--id <id>', 'a short id used in URLs (1-40 lower-case letters, digits, dashes)')
    .requiredOption('--name <name>', 'the name on the button ("Continue with <name>")')
    .requiredOption('--issuer <url>', "the provider's issuer URL (https; its discovery document is read from it)")
    .requiredOption('--client-id <id>', 'the client id the provider gave Rampart')
    .option('--client-secret <secret>', 'the client secret (visible to other users of this machine: prefer the file)')
    .option('--client-secret-file <path>', 'a file holding the client secret (its first line)')
    .action(
      wrap(
        async (opts: {
          id: string;
          name: string;
          issuer: string;
          clientId: string;
          clientSecret?: string;
          clientSecretFile?: string;
        }) => {
          if ((opts.clientSecret === undefined) === (opts.clientSecretFile === undefined))
            throw new OperatorError('give exactly one of --client-secret and --client-secret-file');
          let secret = opts.clientSecret;
          if (opts.clientSecretFile !== undefined) {
            try {
              secret = readFileSync(opts.clientSecretFile, 'utf8').split(/\r?\n/)[0];
            } catch (err) {
              throw new OperatorError(`cannot read ${opts.clientSecretFile}: ${(err as Error).message}`);
            }
          }
          await withOperator(async (ctx) => {
            const registry = createUpstreamRegistry({ ...ctx, clock: systemClock, dev: ctx.config.dev });
            const up = await asOperator(() =>
              registry.add({
                id: opts.id,
                name: opts.name,
                issuer: opts.issuer,
                clientId: opts.clientId,
                clientSecret: secret ?? '',
              }),
            );
            console.log(`added ${up.id} ("${up.name}", ${up.issuer})`);
            console.log(`redirect_uri: ${upstreamRedirectUri(ctx.config.baseUrl, up.id)}`);
          });
        },
      ),
    );
  upstreams
    .command('list')
    .description('List the upstream OpenID providers.')
    .action(
      wrap(() =>
        withOperator(async (ctx) => {
          const all = await createUpstreamRegistry({ ...ctx, clock: systemClock, dev: ctx.config.dev }).list();
          if (all.length === 0) console.log('no upstream providers configured');
          for (const u of all) {
            console.log(`${u.id}  "${u.name}"  ${u.issuer}  client ${u.clientId}`);
            console.log(`  redirect_uri ${upstreamRedirectUri(ctx.config.baseUrl, u.id)}`);
          }
        }),
      ),
    );
  upstreams
    .command('remove <id>')
    .description('Remove an upstream provider: its button goes, and every account link to it is removed.')
    .action(
      wrap((id: string) =>
        withOperator(async (ctx) => {
          const linked = await createUpstreamRegistry({ ...ctx, clock: systemClock, dev: ctx.config.dev }).remove(id);
          if (linked === undefined) throw new OperatorError(`no upstream provider "${id}" is configured`);
          console.log(`removed ${id} (${linked} linked account${linked === 1 ? '' : 's'} unlinked)`);
        }),
      ),
    );
}
