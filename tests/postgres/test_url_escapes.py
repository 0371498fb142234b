"""A KEYTUI_DATABASE_URL whose user name or password holds `@`, `/`, `:` or `%` (a generated
password often does) can only be written %-escaped (RFC 3986). keytui undoes the escapes before
logging in; it used to send the escapes themselves, and the server refused the login."""

from __future__ import annotations

import uuid
from contextlib import closing
from urllib.parse import quote, urlsplit, urlunsplit

from tests.pg import _admin

PASSWORD = "p@ss/w:rd%"


def with_login(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))


def test_an_escaped_user_name_and_password_log_in(cli, vault, pg_url):
    user = f"ops@keytui/{uuid.uuid4().hex[:6]}:ci"
    with closing(_admin(pg_url)) as conn, conn.cursor() as cur:
        cur.execute(f'CREATE ROLE "{user}" LOGIN SUPERUSER PASSWORD %s', (PASSWORD,))
        try:
            listed = cli("keys", "list", env={"KEYTUI_DATABASE_URL": with_login(pg_url, user, PASSWORD)})
            assert listed.code == 0, listed
        finally:
            cur.execute(f'DROP OWNED BY "{user}"')
            cur.execute(f'DROP ROLE "{user}"')
