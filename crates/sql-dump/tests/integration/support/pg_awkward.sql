-- Awkward data for the PostgreSQL real-server tests (crates/sql-dump/tests/real_servers_postgres.rs).
-- Loaded into a fresh database with `psql -v ON_ERROR_STOP=1`. The people and emails are the
-- same as in mysql_awkward.sql (same ids), so pseudonyms can be compared across servers.
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

CREATE SCHEMA crm;

CREATE TABLE public.users (
  id integer PRIMARY KEY,
  email varchar(191) NOT NULL UNIQUE,
  name varchar(100),
  username varchar(20) UNIQUE,
  nickname varchar(8),
  employee_no integer UNIQUE,
  phone varchar(32),
  bio text,
  avatar bytea,
  api_secret bytea,
  prefs jsonb,
  settings json,
  tags text[],
  email_domain text GENERATED ALWAYS AS (split_part(email, '@', 2)) STORED,
  score numeric(10,2),
  born date,
  created_at timestamptz,
  last_ip inet
);

INSERT INTO public.users (id, email, name, username, nickname, employee_no, phone, bio, avatar, api_secret, prefs, settings, tags, score, born, created_at, last_ip) VALUES
(1, 'alice@example.com', 'Alice O''Brien', 'alice', 'ally', 1001, '+44 (0)20 7946 0958',
 E'Quote '' double " backslash \\ newline \n CR \r tab \t end', '\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff'::bytea, '\x00ff5c27220a0d091a'::bytea,
 '{"theme": "dark", "note": "it''s \"quoted\" \\ back\nslash", "tags": ["a", "b"]}', '{"a": 1, "b": "tab\there"}',
 ARRAY['x', 'y,z', 'quote"d', 'back\slash', NULL], 12.50, '1980-02-29', '2024-01-02 03:04:05.123456+00', '192.0.2.1'),
(2, 'bob.smith+tag@example.org', 'Bob "Bobby" Smith', 'bob', 'bobby', 1002, '555-0100',
 'Emoji 😀 café 𝄞 ünïcødé and U+2028 [ ] U+2029 [ ]', '\x89504e470d0a1a0a0000000d49484452'::bytea, NULL,
 '{"theme": "light", "emoji": "😀", "nested": {"deep": [1, 2, {"x": null}]}}', '{"u2028": " "}',
 '{}', -3.00, '1975-12-31', '2023-06-30 23:59:59+00', '2001:db8::1'),
(3, 'carol@example.net', NULL, 'carol', NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(4, 'o''reilly.dan@example.com', 'Dan O''Reilly', 'dan', 'dan', 1004, '0049 30 1234567',
 'Invalid-looking escapes: \x41 \N \q \% \_ \0 \. and \\N and a line that is only \. ', '\x'::bytea, '\x'::bytea,
 '[]', '[]', ARRAY['\N', '\.', ''], 0.00, '2000-01-01', '2000-01-01 00:00:00+00', NULL),
(5, 'eve@EXAMPLE.com', 'Eve', 'eve', 'evie', 1005, '(555) 010-0199',
 E'SQL-looking: a''),(''b'';  DROP TABLE users; -- not a comment /* nor this */ $$dollar$$ \n\\.\nINSERT INTO users VALUES (1);', NULL, '\x0102'::bytea,
 '{"sql": "a''),(''b;", "dollar": "$$"}', '{"tab": "\t"}', ARRAY['$$'], 99999999.99, '1969-07-20', '1970-01-01 00:00:01+00', '10.0.0.5'),
(6, 'frank@example.com', 'Frank Ünïcødé-Łukasz', 'frank', 'frankie', 1006, '+1-202-555-0143',
 repeat(E'Long text with ''quotes'' and \\backslashes\\ and \n newlines and \t tabs. ', 2000), decode(repeat('00ff27', 10000), 'hex'), NULL,
 jsonb_build_object('big', repeat('x', 70000)), NULL, NULL, 1.00, '1990-05-05', '2010-10-10 10:10:10+00', NULL);

CREATE TABLE public.orders (
  id serial PRIMARY KEY,
  user_id integer NOT NULL REFERENCES public.users (id),
  customer_email varchar(191),
  note text,
  meta jsonb,
  amount numeric(10,2) NOT NULL
);
CREATE INDEX orders_user ON public.orders (user_id);

INSERT INTO public.orders (user_id, customer_email, note, meta, amount) VALUES
(1, 'Alice@Example.COM', 'first order; "rush"', '{"customer": {"email": "alice@example.com", "name": "Alice O''Brien"}, "items": [{"sku": "A-1", "qty": 2}]}', 10.00),
(1, 'alice@example.com', E'second\norder\twith\\escapes', '{"customer": {"email": "ALICE@example.com", "name": "Alice"}, "items": []}', 20.50),
(2, 'bob.smith+tag@example.org', NULL, '{"customer": {"email": "bob.smith+tag@example.org", "name": "Bob \"Bobby\" Smith"}, "gift": true}', 5.25),
(4, 'o''reilly.dan@example.com', 'O''Reilly''s order 😀', '{"customer": {"email": "o''reilly.dan@example.com", "name": null}, "note": "back\\slash"}', 7.00),
(5, 'EVE@example.com', '', '{"customer": {"name": "Eve"}, "items": [1, 2, 3]}', 0.00),
(3, NULL, 'no email', NULL, 1.00);

-- A second schema, a quoted mixed-case table name and a quoted column name.
CREATE TABLE crm."Contact Book" (
  id integer PRIMARY KEY,
  "E-mail" varchar(191) NOT NULL,
  "Company" text
);
INSERT INTO crm."Contact Book" VALUES
(1, 'ALICE@example.com', 'Acme ''Widgets'' Ltd'),
(2, 'bob.smith+tag@example.org', E'Back\\slash & Co\ttab'),
(3, 'zed@example.com', NULL);

-- Schema-only: the DDL is restored, the rows are not.
CREATE TABLE public.sessions (
  id varchar(64) PRIMARY KEY,
  user_id integer,
  payload text NOT NULL
);
INSERT INTO public.sessions VALUES ('s1', 1, 'email=alice@example.com'), ('s2', 2, 'x');

-- Excluded: table, owned sequence, index, trigger, comment and grant must all be absent.
CREATE TABLE public.audit_log (
  id serial PRIMARY KEY,
  actor_email varchar(191) NOT NULL,
  action varchar(50) NOT NULL
);
CREATE INDEX audit_log_actor ON public.audit_log (actor_email);
COMMENT ON TABLE public.audit_log IS 'who did what';
COMMENT ON COLUMN public.audit_log.actor_email IS 'personal data';
GRANT SELECT ON public.audit_log TO PUBLIC;
INSERT INTO public.audit_log (actor_email, action) VALUES ('alice@example.com', 'login'), ('bob.smith+tag@example.org', 'logout');

CREATE FUNCTION public.audit_stamp() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  -- a body with quotes and semicolons: 'x; y' "z" and an INSERT-looking line:
  -- INSERT INTO public.users VALUES (1, 'someone@example.invalid');
  NEW.action := NEW.action || ';';
  RETURN NEW;
END;
$body$;
CREATE TRIGGER audit_log_stamp BEFORE INSERT ON public.audit_log FOR EACH ROW EXECUTE FUNCTION public.audit_stamp();

CREATE FUNCTION public.users_default_username() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.username IS NULL THEN NEW.username := 'u' || NEW.id; END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER users_username BEFORE INSERT ON public.users FOR EACH ROW EXECUTE FUNCTION public.users_default_username();

-- Size limit: only the first 3 rows survive.
CREATE TABLE public.events (
  id integer PRIMARY KEY,
  label varchar(50) NOT NULL
);
INSERT INTO public.events SELECT g, 'event ' || g FROM generate_series(1, 7) g;

CREATE VIEW public.user_emails AS SELECT id, email FROM public.users;
