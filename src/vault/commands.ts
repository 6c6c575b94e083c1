import type { Command } from 'commander';
import { asOperator, type CommandWrap, type WithOperator } from '../feature.js';
import { systemClock } from '../platform/clock.js';
import { OperatorError } from '../platform/errors.js';
import { createProviderRegistry, type ProviderInput } from './providers.js';

const CLI_ACTOR = 'operator:cli';

/** `--auth bearer|basic|header:<name>|query:<name>` as the registry takes it. */
function authOf(text: string): Pick<ProviderInput, 'authStyle' | 'authName'> {
  const [style = '', name] = text.split(':', 2);
  if ((style === 'bearer' || style === 'basic') && name === undefined) return { authStyle: style };
  if ((style === 'header' || style === 'query') && name) return { authStyle: style, authName: name };
  throw new OperatorError(`--auth "${text}": use bearer, basic, header:<name> or query:<name>`);
}

/** `--validate "GET /v1/me"`. */
function validationOf(text: string): ProviderInput['validation'] {
  const m = /^(GET|HEAD|POST) (\/\S*)$/.exec(text.trim());
  if (!m) throw new OperatorError(`--validate "${text}": use a method and a path, e.g. "GET /v1/me"`);
  return { method: m[1] as 'GET' | 'HEAD' | 'POST', path: m[2]! };
}

/**
 * `rampart providers add|list|remove`: the vault's registry of API-key providers, for deploy scripts
 * and for the embedded database before Rampart starts (OAuth providers: the console or the operator API).
 */
export function providerCommands(program: Command, withOperator: WithOperator, wrap: CommandWrap): void {
  const providers = program
    .command('providers')
    .description('The services organizations may connect in the credential vault with an API key (D1, T3).');
  const registry = (ctx: Parameters<Parameters<WithOperator>[0]>[0]) =>
    createProviderRegistry({ db: ctx.db, keyring: ctx.keyring, clock: systemClock, dev: ctx.config.dev });
  providers
    .command('add')
    .description('Add an API-key provider, or change the one with this id. Its keys go to these hosts only.')
    .requiredOption('--id <id>', 'a short id (1-40 lower-case letters, digits, dashes)')
    .requiredOption('--name <name>', 'the name organizations see')
    .requiredOption('--host <host...>', 'an exact host name the key may be sent to (host or host:port; repeatable)')
    .option('--auth <style>', 'how the key is sent: bearer, basic, header:<name> or query:<name>', 'bearer')
    .option('--validate <request>', 'the request that tells a valid key from an invalid one, e.g. "GET /v1/me"')
    .action(
      wrap(async (opts: { id: string; name: string; host: string[]; auth: string; validate?: string }) => {
        const input: ProviderInput = {
          id: opts.id,
          name: opts.name,
          kind: 'api_key',
          allowedHosts: opts.host,
          ...authOf(opts.auth),
          ...(opts.validate ? { validation: validationOf(opts.validate) } : {}),
        };
        await withOperator(async (ctx) => {
          const saved = await asOperator(() => registry(ctx).save(input, CLI_ACTOR));
          console.log(`saved ${saved.id} ("${saved.name}"): ${saved.allowedHosts.join(', ')}, ${saved.authStyle}`);
        });
      }),
    );
  providers
    .command('list')
    .description('List the providers.')
    .action(
      wrap(() =>
        withOperator(async (ctx) => {
          const all = await registry(ctx).list();
          if (all.length === 0) console.log('no providers configured');
          for (const p of all) {
            const check = p.validation ? `${p.validation.method} ${p.validation.path}` : 'no check';
            console.log(`${p.id}  "${p.name}"  ${p.kind}  ${p.allowedHosts.join(',')}  ${p.authStyle}  ${check}`);
          }
        }),
      ),
    );
  providers
    .command('remove <id>')
    .description('Remove a provider no connection uses.')
    .action(
      wrap((id: string) =>
        withOperator(async (ctx) => {
          await asOperator(() => registry(ctx).remove(id, CLI_ACTOR));
          console.log(`removed ${id}`);
        }),
      ),
    );
}
