import type { ColumnType, Generated } from 'kysely';

/** Row types of every table, as the runtime role sees them. Owner-only tables are marked. */
export interface Tables {
  audit_events: AuditEventsTable;
  audit_heads: AuditHeadsTable;
  dev_mailbox: DevMailboxTable;
  users: UsersTable;
  email_tokens: EmailTokensTable;
  sessions: SessionsTable;
  organizations: OrganizationsTable;
  memberships: MembershipsTable;
  invitations: InvitationsTable;
  api_keys: ApiKeysTable;
  api_key_directory: { key_id: string; org_id: string };
  access_reviews: AccessReviewsTable;
  totp_credentials: TotpCredentialsTable;
  recovery_codes: RecoveryCodesTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
  oidc_clients: OidcClientsTable;
  oidc_artifacts: OidcArtifactsTable;
  oidc_grants: OidcGrantsTable;
  oidc_signing_keys: OidcSigningKeysTable;
  oidc_access_tokens: OidcAccessTokensTable;
  upstream_providers: UpstreamProvidersTable;
  external_identities: ExternalIdentitiesTable;
  external_signin_flows: ExternalSigninFlowsTable;
  oidc_backchannel_deliveries: OidcBackchannelDeliveriesTable;
  operator_tokens: OperatorTokensTable;
  operator_users: { user_id: string; granted_at: Timestamp };
  deployment_settings: DeploymentSettingsTable;
  trust_check_results: TrustCheckResultsTable;
  job_runs: JobRunsTable;
  trust_check_changes: TrustCheckChangesTable;
  disclosure_reports: DisclosureReportsTable;
  disclosure_timeline: DisclosureTimelineTable;
  disclosure_form_tokens: { nonce_hash: string; expires_at: Timestamp };
  disclosure_settings: { id: Generated<number>; ack_business_days: number; updated_at: Timestamp };
  status_components: StatusComponentsTable;
  status_days: StatusDaysTable;
  status_minutes: { minute: Timestamp };
  status_probes: StatusProbesTable;
  status_probe_results: StatusProbeResultsTable;
  status_subscribers: StatusSubscribersTable;
  status_subscriber_components: { subscriber_id: string; component_id: string };
  status_pending_subscriptions: StatusPendingSubscriptionsTable;
  status_notifications: { subscriber_id: string; update_key: string; claimed_at: Timestamp };
  incident_settings: IncidentSettingsTable;
  incidents: IncidentsTable;
  incident_updates: IncidentUpdatesTable;
  incident_affected_orgs: IncidentAffectedOrgsTable;
  security_notices: SecurityNoticesTable;
  org_keys: OrgKeysTable;
  vault_providers: VaultProvidersTable;
  vault_connections: VaultConnectionsTable;
  vault_secrets: { connection_id: string; org_id: string; field: string; sealed: string };
  vault_oauth_flows: VaultOauthFlowsTable;
  keyring_state: KeyringStateTable;
  keyring_instances: KeyringInstancesTable;
  /** Owner only: the runtime role has no privilege on it. */
  rampart_migrations: MigrationsTable;
}

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface AuditEventsTable {
  id: Generated<string>;
  org_id: string;
  stream: string;
  seq: ColumnType<string, string | number | bigint, never>;
  occurred_at: Timestamp;
  actor: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  payload: ColumnType<unknown, string, never>;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadsTable {
  stream: string;
  org_id: string;
  seq: ColumnType<string, string | number | bigint, string | number | bigint>;
  hash: string;
}

export interface DevMailboxTable {
  id: Generated<string>;
  created_at: Generated<Date>;
  to_address: string;
  from_address: string;
  subject: string;
  text_body: string;
  html_body: string | null;
  headers: ColumnType<Record<string, string> | null, string | null | undefined, string | null>;
}

export interface MigrationsTable {
  name: string;
  checksum: string;
  applied_at: Generated<Date>;
}

export interface UsersTable {
  id: Generated<string>;
  email: string;
  email_verified_at: Date | null;
  password_hash: string | null;
  password_changed_at: Date | null;
  created_at: Generated<Date>;
}

export type EmailTokenPurpose = 'verify_email' | 'magic_link' | 'password_reset' | 'email_change';

export interface EmailTokensTable {
  id: Generated<string>;
  user_id: string;
  purpose: EmailTokenPurpose;
  token_hash: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
  /** email_change only: the address the account moves to once the link is used. */
  new_email: string | null;
}

export interface SessionsTable {
  id: Generated<string>;
  token_hash: string;
  user_id: string;
  created_at: Date;
  last_seen_at: Date;
  idle_expires_at: Date;
  absolute_expires_at: Date;
  ip: string | null;
  user_agent: string | null;
  method: string;
  auth_level: number;
  authenticated_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
  active_org_id: Generated<string | null>;
  second_factor_pending: Generated<boolean>;
  rotate_due: Generated<boolean>;
  previous_token_hash: string | null;
  previous_valid_until: Date | null;
  factors: Generated<string[]>;
}

export interface OrganizationsTable {
  id: string;
  name: string;
  created_at: Date;
  created_by: string;
  require_mfa: Generated<boolean>;
}

export type RoleName = 'owner' | 'admin' | 'member' | 'viewer';

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: RoleName;
  invited_by: string | null;
  created_at: Date;
}

export interface InvitationsTable {
  id: Generated<string>;
  org_id: string;
  email: string;
  role: RoleName;
  token_hash: string;
  invited_by: string;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  accepted_by: string | null;
  revoked_at: Date | null;
}

export interface ApiKeysTable {
  id: string;
  org_id: string;
  name: string;
  key_hash: string;
  scopes: string[];
  created_by: string;
  created_at: Date;
  expires_at: Date;
  last_used_at: Date | null;
  last_used_ip: string | null;
  revoked_at: Date | null;
}

export interface AccessReviewsTable {
  id: Generated<string>;
  org_id: string;
  reviewer_id: string;
  signed_off_at: Date;
  members_reviewed: number;
  note: string | null;
}

export interface TotpCredentialsTable {
  user_id: string;
  secret_sealed: string;
  created_at: Date;
  confirmed_at: Date | null;
  /** bigint: pg returns it as a string. */
  last_used_step: string | number | null;
}

export interface RecoveryCodesTable {
  id: Generated<string>;
  user_id: string;
  code_hash: string;
  created_at: Date;
  used_at: Date | null;
}

export interface PasskeysTable {
  id: Generated<string>;
  user_id: string;
  credential_id: string;
  public_key: Buffer | Uint8Array;
  counter: string | number;
  transports: string[];
  name: string;
  device_type: string;
  backed_up: boolean;
  created_at: Date;
  last_used_at: Date | null;
}

export type ChallengePurpose = 'register' | 'sign_in' | 'second_factor' | 'step_up';

export interface WebauthnChallengesTable {
  challenge: string;
  purpose: ChallengePurpose;
  session_id: string | null;
  created_at: Date;
  expires_at: Date;
}

export interface OidcClientsTable {
  client_id: string;
  name: string;
  secret_hash: string | null;
  redirect_uris: string[];
  post_logout_redirect_uris: ColumnType<string[], string[] | undefined, string[]>;
  backchannel_logout_uri: string | null;
  first_party: boolean;
  created_at: Timestamp;
}

export interface OidcArtifactsTable {
  model: string;
  id: string;
  payload: ColumnType<Record<string, unknown>, string, string>;
  grant_id: string | null;
  client_id: string | null;
  uid: string | null;
  expires_at: Timestamp | null;
  consumed_at: Timestamp | null;
}

export interface OidcGrantsTable {
  grant_id: string;
  client_id: string;
  user_id: string;
  chosen_org_id: string | null;
  session_id: string;
  amr: string[];
  acr: string;
  auth_time: Timestamp;
  created_at: Timestamp;
}

export interface OidcSigningKeysTable {
  kid: string;
  alg: 'ES256' | 'EdDSA';
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  private_sealed: string;
  created_at: Timestamp;
  signs_from: Timestamp;
  retired_at: Timestamp | null;
  unpublish_after: Timestamp | null;
}

export interface OidcAccessTokensTable {
  jti: string;
  grant_id: string;
  client_id: string;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface UpstreamProvidersTable {
  id: string;
  name: string;
  issuer: string;
  client_id: string;
  client_secret_sealed: string;
  created_at: Timestamp;
}

export interface ExternalIdentitiesTable {
  id: Generated<string>;
  user_id: string;
  provider_id: string;
  issuer: string;
  subject: string;
  email: string | null;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
}

export interface ExternalSigninFlowsTable {
  state_hash: string;
  provider_id: string;
  browser_hash: string;
  nonce: string;
  code_verifier_sealed: string;
  purpose: 'sign_in' | 'link';
  user_id: string | null;
  next: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface OidcBackchannelDeliveriesTable {
  id: Generated<string>;
  client_id: string;
  delivered: boolean;
  attempts: number;
  last_error: string | null;
  finished_at: Timestamp;
}

export interface DeploymentSettingsTable {
  id: Generated<number>;
  product_name: string;
  security_contact: string | null;
  policy_url: string | null;
  policy_text: string | null;
  preferred_languages: string;
  updated_at: Timestamp;
}

export interface OperatorTokensTable {
  id: Generated<string>;
  name: string;
  token_hash: string;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export type TrustStatus = 'passing' | 'failing' | 'not_configured';

export interface TrustCheckResultsTable {
  check_id: string;
  control: string;
  status: TrustStatus;
  detail: string;
  checked_at: Timestamp;
  changed_at: Timestamp;
}

export interface TrustCheckChangesTable {
  id: Generated<string>;
  check_id: string;
  control: string;
  status: TrustStatus;
  previous_status: TrustStatus | null;
  detail: string;
  changed_at: Timestamp;
}

export type DisclosureStatus = 'new' | 'acknowledged' | 'triaging' | 'resolved' | 'not_applicable' | 'duplicate';

export interface DisclosureReportsTable {
  id: Generated<string>;
  reference: string;
  status_token_hash: string;
  summary: string;
  details: string;
  affected: string | null;
  reporter_email: string;
  reporter_name: string | null;
  credit_name: string | null;
  status: DisclosureStatus;
  received_at: Timestamp;
  ack_due_at: Timestamp;
  acknowledged_at: Timestamp | null;
  resolved_at: Timestamp | null;
  deadline_notified_at: Timestamp | null;
}

export interface DisclosureTimelineTable {
  id: Generated<string>;
  report_id: string;
  at: Timestamp;
  actor: string;
  kind: 'received' | 'status' | 'note';
  status: DisclosureStatus | null;
  note: string | null;
}

export type ComponentStateColumn = 'operational' | 'degraded' | 'partial_outage' | 'major_outage' | 'maintenance';

export interface StatusComponentsTable {
  id: string;
  name: string;
  description: string;
  position: number;
  operator_state: ComponentStateColumn;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface StatusDaysTable {
  component_id: string;
  /** UTC day, YYYY-MM-DD. */
  day: string;
  observed: number;
  degraded: number;
  partial: number;
  major: number;
  maintenance: number;
}

export interface StatusProbesTable {
  id: Generated<string>;
  component_id: string;
  url: string;
  expected_status: number;
  created_at: Timestamp;
  claimed_until: Timestamp | null;
  failures: Generated<number>;
  last_checked_at: Timestamp | null;
  last_ok: boolean | null;
  last_detail: string | null;
  draft_incident_id: string | null;
}

export interface StatusProbeResultsTable {
  id: Generated<string>;
  probe_id: string;
  checked_at: Timestamp;
  ok: boolean;
  http_status: number | null;
  duration_ms: number;
  detail: string;
}

export interface StatusSubscribersTable {
  id: Generated<string>;
  email: string;
  all_components: boolean;
  unsubscribe_hash: string;
  confirmed_at: Timestamp;
}

export interface StatusPendingSubscriptionsTable {
  confirm_hash: string;
  email: string;
  all_components: boolean;
  components: ColumnType<string[], string, string>;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface IncidentSettingsTable {
  id: Generated<number>;
  critical_minutes: number;
  high_minutes: number;
  medium_minutes: number;
  low_minutes: number;
  updated_at: Timestamp;
}

export interface IncidentsTable {
  id: Generated<string>;
  title: string;
  kind: 'incident' | 'maintenance';
  severity: 'critical' | 'high' | 'medium' | 'low';
  draft: Generated<boolean>;
  public: Generated<boolean>;
  impact: 'degraded' | 'partial_outage' | 'major_outage' | 'maintenance';
  components: ColumnType<string[], string[] | undefined, string[]>;
  probe_component: string | null;
  phase: 'identify' | 'contain' | 'eradicate' | 'recover' | 'review' | 'closed';
  identify_at: Timestamp;
  contain_at: Timestamp | null;
  eradicate_at: Timestamp | null;
  recover_at: Timestamp | null;
  review_at: Timestamp | null;
  closed_at: Timestamp | null;
  declared_at: Timestamp;
  respond_by: Timestamp | null;
  responded_at: Timestamp | null;
  started_at: Timestamp;
  resolved_at: Timestamp | null;
  scheduled_start: Timestamp | null;
  scheduled_end: Timestamp | null;
  report_body: string | null;
  report_published_at: Timestamp | null;
  breach: Generated<boolean>;
  aware_at: Timestamp | null;
  regulator_required: Generated<boolean>;
  facts: string | null;
  effects: string | null;
  remedial_action: string | null;
  customers_notified_at: Timestamp | null;
  customers_late_reason: string | null;
  regulator_notified_at: Timestamp | null;
  regulator_late_reason: string | null;
  full_report_at: Timestamp | null;
  full_report_late_reason: string | null;
  customers_overdue_mailed_at: Timestamp | null;
  regulator_overdue_mailed_at: Timestamp | null;
  report_overdue_mailed_at: Timestamp | null;
  created_by: string;
}

export interface IncidentUpdatesTable {
  id: Generated<string>;
  incident_id: string;
  at: Timestamp;
  phase: IncidentsTable['phase'];
  message: string;
  public: boolean;
  author: string;
}

export interface IncidentAffectedOrgsTable {
  incident_id: string;
  org_id: string;
  org_name: string;
  notified_at: Timestamp;
  recipients: number;
}

export interface SecurityNoticesTable {
  id: Generated<string>;
  org_id: string;
  incident_id: string;
  title: string;
  body: string;
  published_at: Timestamp;
}

export interface OrgKeysTable {
  org_id: string;
  kek_sealed: string | null;
  created_at: Timestamp;
  destroyed_at: Timestamp | null;
}

export type VaultAuthStyle = 'bearer' | 'basic' | 'header' | 'query';
export type ConnectionKind = 'api_key' | 'oauth';
export type ConnectionStatus = 'unchecked' | 'valid' | 'invalid' | 'revoked' | 'refresh_failed' | 'error';

export interface VaultProvidersTable {
  id: string;
  name: string;
  kind: ConnectionKind;
  allowed_hosts: string[];
  auth_style: VaultAuthStyle;
  auth_name: string | null;
  validation_method: 'GET' | 'HEAD' | 'POST' | null;
  validation_path: string | null;
  oauth_authorization_endpoint: string | null;
  oauth_token_endpoint: string | null;
  oauth_revocation_endpoint: string | null;
  oauth_client_id: string | null;
  oauth_client_secret_sealed: string | null;
  oauth_scopes: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface VaultConnectionsTable {
  id: Generated<string>;
  org_id: string;
  provider_id: string;
  label: string;
  kind: ConnectionKind;
  status: ConnectionStatus;
  status_detail: string | null;
  checked_at: Timestamp | null;
  mask: string;
  fingerprint: string;
  token_expires_at: Timestamp | null;
  refresh_lease_until: Timestamp | null;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface VaultOauthFlowsTable {
  state_hash: string;
  org_id: string;
  provider_id: string;
  user_id: string;
  browser_hash: string;
  label: string;
  code_verifier_sealed: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

/** Issue 15: each scheduled job's last run, as whichever instance ran it recorded it (system). */
export interface JobRunsTable {
  name: string;
  every_ms: string | number;
  last_started_at: Timestamp | null;
  last_finished_at: Timestamp | null;
  last_outcome: 'succeeded' | 'failed' | null;
  last_error: string | null;
  consecutive_failures: Generated<number>;
  total_runs: Generated<string | number>;
}

export interface KeyringStateTable {
  id: Generated<number>;
  /** bigint (versions reach 2^32 - 1): read back as a string, like every bigint. */
  current_version: ColumnType<string | null, number | null, number | null>;
  retired_versions: ColumnType<string[], number[], number[]>;
  root_sealed: string | null;
  updated_at: Timestamp;
}

export interface KeyringInstancesTable {
  instance_id: string;
  versions: ColumnType<string[], number[], number[]>;
  current_version: ColumnType<string, number, number>;
  source: 'env' | 'file';
  seen_at: Timestamp;
}
