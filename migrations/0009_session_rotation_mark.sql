-- S2, O3: a privilege change inside an organization (a role change, a removal, a handover, the
-- organization's deletion) marks that member's sessions for rotation in the same transaction as the
-- change, so neither can commit without the other. A tenant transaction cannot write sessions (0008),
-- and gets no broader write on them here: it may call one function, which sets one column
-- (rotate_due) of the unrevoked sessions of one member of the transaction's own organization.
--
-- The function runs as its own role, rampart_session_marker: not the owner (a superuser owner would
-- bypass row-level security altogether), and able to do nothing else. Its grants allow reading the
-- columns it filters on and updating rotate_due only; row-level security still applies to it, and
-- a policy of its own lets it update only sessions of members of the current organization.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'rampart_session_marker') then
    create role rampart_session_marker nologin nosuperuser nocreatedb nocreaterole noinherit nobypassrls;
  end if;
exception when duplicate_object then null; -- another database on this server created it first
end
$$;
grant rampart_session_marker to current_user; -- so the owner may hand the function to it
grant usage on schema public to rampart_session_marker;
grant select (org_id, user_id) on memberships to rampart_session_marker;
grant select (user_id, revoked_at), update (rotate_due) on sessions to rampart_session_marker;

create policy sessions_rotation_mark on sessions for update to rampart_session_marker
  using (rampart_member_of_current_org(user_id))
  with check (rampart_member_of_current_org(user_id));

-- Marks the unrevoked sessions of `member` for rotation on their next request; returns how many.
-- Refuses anyone who is not a member of the organization this transaction works for (system and
-- person transactions work for none). Every name is schema-qualified and the search path fixed, so
-- nothing the caller creates (a temporary table) can stand in for the real tables.
create function rampart_mark_sessions_for_rotation(member uuid) returns integer
  language plpgsql
  security definer
  set search_path = pg_catalog, public, pg_temp
  as $$
declare
  marked integer;
begin
  if not exists (
    select 1 from public.memberships m
    where m.org_id = public.rampart_current_org() and m.user_id = member
  ) then
    raise exception 'not a member of this organization' using errcode = 'insufficient_privilege';
  end if;
  update public.sessions set rotate_due = true where user_id = member and revoked_at is null;
  get diagnostics marked = row_count;
  return marked;
end
$$;

-- Handing a function to a role needs that role to be able to create it: granted for this step only.
grant create on schema public to rampart_session_marker;
alter function rampart_mark_sessions_for_rotation(uuid) owner to rampart_session_marker;
revoke create on schema public from rampart_session_marker;
revoke all on function rampart_mark_sessions_for_rotation(uuid) from public;
grant execute on function rampart_mark_sessions_for_rotation(uuid) to rampart_runtime;
