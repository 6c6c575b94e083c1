import type { AuditAction } from '../platform/audit/actions.js';
import { appendAudit, systemStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import type { Tenancy, Tx } from '../platform/db/database.js';
import type { FieldError } from '../platform/errors.js';
import { operatorError } from './errors.js';
import * as repo from './repository.js';
import { type Operator, operatorActor } from './service.js';

/*
 * The operator console: which accounts may open it, and the deployment's own words (product name,
 * security contact, disclosure policy) that the trust page, the status page and security.txt show.
 */

export interface DeploymentSettings {
  productName: string;
  /** An e-mail address or an https:// URL where security reports go (security.txt Contact). */
  securityContact: string | null;
  /** Where the disclosure policy lives (security.txt Policy); the policy text is shown when unset. */
  policyUrl: string | null;
  policyText: string | null;
  /** RFC 9116 Preferred-Languages: language tags, comma-separated. */
  preferredLanguages: string;
  updatedAt: Date | null;
}

export const DEFAULT_SETTINGS: DeploymentSettings = {
  productName: 'Rampart',
  securityContact: null,
  policyUrl: null,
  policyText: null,
  preferredLanguages: 'en',
  updatedAt: null,
};

export type SettingsInput = Omit<DeploymentSettings, 'updatedAt'>;

const EMAIL = /^[^\s@<>()",;:]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;
const LANGUAGES = /^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*(, ?[a-z]{2,3}(-[A-Za-z0-9]{1,8})*){0,9}$/;
const CONTROL = /\p{Cc}/u;

const httpsUrl = (value: string) => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && !url.username && !url.password;
  } catch {
    return false;
  }
};

/** The problems of a settings form, field by field (nothing is saved while there is one). */
export function settingsProblems(input: SettingsInput): FieldError[] {
  const problems: FieldError[] = [];
  const name = input.productName.trim();
  if (name.length < 1 || name.length > 80 || CONTROL.test(name))
    problems.push({ field: 'productName', message: 'Give the product a name of 1 to 80 characters.' });
  const contact = input.securityContact;
  if (contact !== null && !(contact.length <= 254 && (EMAIL.test(contact) || httpsUrl(contact))))
    problems.push({ field: 'securityContact', message: 'Give an e-mail address or an https:// address.' });
  if (input.policyUrl !== null && !(input.policyUrl.length <= 500 && httpsUrl(input.policyUrl)))
    problems.push({ field: 'policyUrl', message: 'Give an https:// address (or leave it empty).' });
  if (input.policyText !== null && input.policyText.length > 4000)
    problems.push({ field: 'policyText', message: 'Keep the policy under 4000 characters.' });
  if (!LANGUAGES.test(input.preferredLanguages))
    problems.push({ field: 'preferredLanguages', message: 'Give language tags separated by commas, like "en, de".' });
  return problems;
}

const fromRow = (row: repo.SettingsRow | undefined): DeploymentSettings =>
  row
    ? {
        productName: row.product_name,
        securityContact: row.security_contact,
        policyUrl: row.policy_url,
        policyText: row.policy_text,
        preferredLanguages: row.preferred_languages,
        updatedAt: row.updated_at,
      }
    : DEFAULT_SETTINGS;

export type OperatorConsole = ReturnType<typeof createOperatorConsole>;

export function createOperatorConsole(deps: { db: Tenancy; clock: Clock }) {
  const { db, clock } = deps;
  const audit = (tx: Tx, action: AuditAction, actor: string, payload: Record<string, unknown>) =>
    appendAudit(tx, { stream: systemStream, action, actor, target: 'deployment', payload }, clock);

  return {
    /** Whether this account may open the console (read on every request: an ungrant works at once). */
    isOperator: async (userId: string) => (await db.withSystem((tx) => repo.operatorUser(tx, userId))) !== undefined,

    async grant(email: string): Promise<boolean> {
      return db.withSystem(async (tx) => {
        const userId = await repo.userIdByEmail(tx, email.trim().toLowerCase());
        if (!userId) throw operatorError('operator_user_not_found');
        const granted = await repo.grantUser(tx, userId, clock.now());
        if (granted) await audit(tx, 'operator.user_granted', operatorActor('cli'), { user: userId });
        return granted;
      });
    },

    async ungrant(email: string): Promise<boolean> {
      return db.withSystem(async (tx) => {
        const userId = await repo.userIdByEmail(tx, email.trim().toLowerCase());
        if (!userId) throw operatorError('operator_user_not_found');
        const removed = await repo.ungrantUser(tx, userId);
        if (removed) await audit(tx, 'operator.user_ungranted', operatorActor('cli'), { user: userId });
        return removed;
      });
    },

    users: () => db.withSystem((tx) => repo.listUsers(tx)),

    settings: async (): Promise<DeploymentSettings> => fromRow(await db.withSystem((tx) => repo.settings(tx))),

    /** Saves all of it or nothing (`settings_invalid` names each field), with its audit event. */
    async saveSettings(input: SettingsInput, by: Operator): Promise<DeploymentSettings> {
      const fields = settingsProblems(input);
      if (fields.length > 0) throw operatorError('settings_invalid', { fields });
      const row = {
        product_name: input.productName.trim(),
        security_contact: input.securityContact,
        policy_url: input.policyUrl,
        policy_text: input.policyText,
        preferred_languages: input.preferredLanguages,
        updated_at: clock.now(),
      };
      await db.withSystem(async (tx) => {
        await repo.saveSettings(tx, row);
        await audit(tx, 'operator.settings_changed', operatorActor(by), {
          productName: row.product_name,
          securityContact: row.security_contact,
          policyUrl: row.policy_url,
        });
      });
      return fromRow({ id: 1, ...row });
    },
  };
}
