-- O2: row-level security for the personal tables. A transaction sees people's rows by what it is:
-- - system work (withSystem: the nil org, no person) sees every row: the identity flows look
--   accounts up by address before anyone is known;
-- - a person's transaction (withPerson) sees that person's own rows only;
-- - a tenant transaction (withTenant) sees only the members of its organization, and of their
--   sessions and factors only what the access review reads (last activity, whether MFA is on).
create function rampart_system_context() returns boolean
  language sql stable
  as $$ select rampart_current_org() = '00000000-0000-0000-0000-000000000000' and rampart_current_user() is null $$;

create function rampart_person_context(person uuid) returns boolean
  language sql stable
  as $$ select rampart_current_org() = '00000000-0000-0000-0000-000000000000' and rampart_current_user() = person $$;

-- Whether a person is a member of the organization this transaction works for.
create function rampart_member_of_current_org(person uuid) returns boolean
  language sql stable
  as $$ select exists (select 1 from memberships m where m.user_id = person and m.org_id = rampart_current_org()) $$;

alter table users enable row level security;
alter table users force row level security;
create policy users_system on users using (rampart_system_context()) with check (rampart_system_context());
create policy users_person on users using (rampart_person_context(id)) with check (rampart_person_context(id));
create policy users_members on users for select using (rampart_member_of_current_org(id));

alter table sessions enable row level security;
alter table sessions force row level security;
create policy sessions_system on sessions using (rampart_system_context()) with check (rampart_system_context());
create policy sessions_person on sessions using (rampart_person_context(user_id)) with check (rampart_person_context(user_id));
create policy sessions_members on sessions for select using (rampart_member_of_current_org(user_id));

alter table totp_credentials enable row level security;
alter table totp_credentials force row level security;
create policy totp_credentials_system on totp_credentials using (rampart_system_context()) with check (rampart_system_context());
create policy totp_credentials_person on totp_credentials using (rampart_person_context(user_id)) with check (rampart_person_context(user_id));
create policy totp_credentials_members on totp_credentials for select using (rampart_member_of_current_org(user_id));

alter table passkeys enable row level security;
alter table passkeys force row level security;
create policy passkeys_system on passkeys using (rampart_system_context()) with check (rampart_system_context());
create policy passkeys_person on passkeys using (rampart_person_context(user_id)) with check (rampart_person_context(user_id));
create policy passkeys_members on passkeys for select using (rampart_member_of_current_org(user_id));

-- Secrets of a person's sign-in that no organization ever reads.
alter table email_tokens enable row level security;
alter table email_tokens force row level security;
create policy email_tokens_system on email_tokens using (rampart_system_context()) with check (rampart_system_context());
create policy email_tokens_person on email_tokens using (rampart_person_context(user_id)) with check (rampart_person_context(user_id));

alter table recovery_codes enable row level security;
alter table recovery_codes force row level security;
create policy recovery_codes_system on recovery_codes using (rampart_system_context()) with check (rampart_system_context());
create policy recovery_codes_person on recovery_codes using (rampart_person_context(user_id)) with check (rampart_person_context(user_id));

alter table webauthn_challenges enable row level security;
alter table webauthn_challenges force row level security;
create policy webauthn_challenges_system on webauthn_challenges using (rampart_system_context()) with check (rampart_system_context());

-- Mail the dev instance kept: an operator's view, never a tenant's or a person's.
alter table dev_mailbox enable row level security;
alter table dev_mailbox force row level security;
create policy dev_mailbox_system on dev_mailbox using (rampart_system_context()) with check (rampart_system_context());
