-- A10 (amr): the factors a session presented, in the order it presented them, so a product learns
-- whether the second factor was a one-time code or a passkey (and whether that passkey is synced).
-- Sessions from before this record get their first factor from their sign-in method (a passkey
-- then counted as a software key, as before); their second factor, if any, stays unnamed.
alter table sessions add column factors text[] not null default '{}';
update sessions set factors = array[
  case method
    when 'password' then 'password' when 'passkey' then 'synced_passkey' when 'external' then 'external'
    else 'magic_link'
  end
];
