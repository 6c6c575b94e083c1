-- Second factors (A4, A5), sign-in that waits for one (S2), and organization MFA policy (A6).
-- Factors belong to a person, not an organization: system tables, reached through withSystem().

-- TOTP (RFC 6238). The secret is sealed with envelope encryption (context: user id); it is never
-- stored in the clear. A row with confirmed_at null is an enrollment in progress.
create table totp_credentials (
  user_id uuid primary key references users (id) on delete cascade,
  secret_sealed text not null,
  created_at timestamptz not null,
  confirmed_at timestamptz,
  -- The newest time step a code was accepted for: a code of that step or older is a replay.
  last_used_step bigint
);

-- Ten single-use codes per set; only their SHA-256 is kept. A new set replaces the old one.
create table recovery_codes (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  code_hash text not null,
  created_at timestamptz not null,
  used_at timestamptz
);
create index recovery_codes_user on recovery_codes (user_id) where used_at is null;

-- Passkeys (WebAuthn). credential_id is base64url; the public key is COSE-encoded.
create table passkeys (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  credential_id text not null unique,
  public_key bytea not null,
  counter bigint not null default 0,
  transports text[] not null default '{}',
  name text not null check (length(name) between 1 and 60),
  device_type text not null,
  backed_up boolean not null,
  created_at timestamptz not null,
  last_used_at timestamptz
);
create index passkeys_user on passkeys (user_id);

-- One-time WebAuthn challenges. Registration and second-factor challenges are bound to the session
-- that asked for them; passwordless sign-in challenges are bound to nobody (the signature names the user).
create table webauthn_challenges (
  challenge text primary key,
  purpose text not null check (purpose in ('register', 'sign_in', 'second_factor', 'step_up')),
  session_id uuid references sessions (id) on delete cascade,
  created_at timestamptz not null,
  expires_at timestamptz not null
);
create index webauthn_challenges_expiry on webauthn_challenges (expires_at);

-- A session that passed the first factor of an account with a second factor reaches only the
-- second-factor step until it finishes (then its identifier rotates).
alter table sessions add column second_factor_pending boolean not null default false;

-- S2 for privilege changes made by someone else (a role change): the member's sessions rotate on
-- their next request. The replaced identifier keeps working for a few seconds, so requests already
-- in flight with it are not signed out.
alter table sessions add column rotate_due boolean not null default false;
alter table sessions add column previous_token_hash text;
alter table sessions add column previous_valid_until timestamptz;
create index sessions_previous_token on sessions (previous_token_hash) where previous_token_hash is not null;

alter table organizations add column require_mfa boolean not null default false;

grant select, insert, update, delete on totp_credentials to rampart_runtime;
grant select, insert, update, delete on recovery_codes to rampart_runtime;
grant select, insert, update, delete on passkeys to rampart_runtime;
grant select, insert, delete on webauthn_challenges to rampart_runtime;
