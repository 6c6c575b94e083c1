-- People and their sign-in state. Identities are global (a person may belong to several
-- organizations), so these are system tables: no org_id, reached through withSystem().

create table users (
  id uuid primary key default gen_random_uuid(),
  -- Normalized (trimmed, lower-cased) before it gets here; unique across the instance.
  email text not null unique check (email = lower(email) and length(email) between 3 and 254),
  email_verified_at timestamptz,
  password_hash text,
  password_changed_at timestamptz,
  created_at timestamptz not null default now()
);

-- Single-use links sent by mail. Only the SHA-256 of the token is kept.
create table email_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  purpose text not null check (purpose in ('verify_email', 'magic_link', 'password_reset')),
  token_hash text not null unique,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  used_at timestamptz
);
create index email_tokens_user on email_tokens (user_id, purpose);

-- Server-side sessions (S1-S4). The cookie holds a random 256-bit identifier; only its SHA-256 is here.
create table sessions (
  id uuid primary key default gen_random_uuid(),
  token_hash text not null unique,
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null,
  last_seen_at timestamptz not null,
  idle_expires_at timestamptz not null,
  absolute_expires_at timestamptz not null,
  ip text,
  user_agent text,
  method text not null,
  auth_level smallint not null,
  authenticated_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text
);
create index sessions_user on sessions (user_id) where revoked_at is null;

grant select, insert, update on users to rampart_runtime;
grant select, insert, update on email_tokens to rampart_runtime;
grant select, insert, update on sessions to rampart_runtime;
