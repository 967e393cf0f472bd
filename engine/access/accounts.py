"""Users' credentials, their roles and their API tokens.

A user is an ordinary `user` record (what the definitions say a user is); what makes it
someone who can log in lives beside it, in system tables:

- `sys_login`: one row per user who may log in: a slow password hash (scrypt), the
  role names they hold and whether the login is active;
- `sys_token`: API tokens. Only the SHA-256 of a token is stored: the token itself is
  shown once, when it is created;
- `sys_session`: the user's session generation. A page session records the generation it
  was opened under and is over as soon as the generation moves on: logging out and every
  password change (the user's own or an administrator's) move it, so a copied cookie stops
  working at once, on every app server. A user without a row is at generation 0.

`Accounts(engine)` adds the tables to the engine's MetaData, so `engine.migrate()`
creates them like any other table; `Accounts.migrate()` creates those missing on a database
the engine already migrated (the `ossature migrate` command calls both: an installation from
before `sys_session` gets it, its logins and tokens untouched), and every method creates them
on first use if they are still missing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from engine.core.context import SYSTEM_ACTOR, Actor
from engine.core.errors import EngineError, NotFoundError
from engine.storage.tables import table_name

if TYPE_CHECKING:
    from engine.installation.runtime import Engine

LOGIN_TABLE = "sys_login"
TOKEN_TABLE = "sys_token"
SESSION_TABLE = "sys_session"
USER_ENTITY = "user"
MIN_PASSWORD_LENGTH = 8
PASSWORD_METHOD = "scrypt"
LAST_USED_PRECISION = dt.timedelta(minutes=1)
"""`last_used_at` is written at most once a minute per token, not on every request."""
_T = TypeVar("_T")


class AccountError(EngineError):
    """A request about users, roles, passwords or tokens that cannot be honoured."""


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user_id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def account_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table, sa.Table]:
    """The login, token and session tables on `metadata` (added once; later calls return the same tables)."""
    if LOGIN_TABLE in metadata.tables:
        return metadata.tables[LOGIN_TABLE], metadata.tables[TOKEN_TABLE], metadata.tables[SESSION_TABLE]
    user_table = table_name(USER_ENTITY)
    login = sa.Table(
        LOGIN_TABLE,
        metadata,
        sa.Column("user_id", sa.Integer, sa.ForeignKey(f"{user_table}.id", name="fk_sys_login_user"), primary_key=True,
                  autoincrement=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, default=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    token = sa.Table(
        TOKEN_TABLE,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey(f"{user_table}.id", name="fk_sys_token_user"), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_used_at", sa.DateTime),
        sa.Column("revoked_at", sa.DateTime),
        sa.Index("ux_sys_token_hash", "token_hash", unique=True),
        sa.Index("ix_sys_token_user", "user_id"),
    )
    session = sa.Table(
        SESSION_TABLE,
        metadata,
        sa.Column("user_id", sa.Integer, sa.ForeignKey(f"{user_table}.id", name="fk_sys_session_user"),
                  primary_key=True, autoincrement=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("changed_at", sa.DateTime, nullable=False),
    )
    return login, token, session


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """Credentials, roles and tokens of the users of one `Engine`."""

    def __init__(self, engine: Engine):
        if USER_ENTITY not in engine.model.entities:
            raise AccountError(f"the definitions have no `{USER_ENTITY}` entity: there is nobody to log in")
        self.engine = engine
        self.db = engine.db
        self.users = engine.tables.of(USER_ENTITY)
        self.login, self.token, self.session = account_tables(engine.tables.metadata)
        self._ready = False
        self._dummy_hash: str | None = None

    # -- tables ------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Create the login, token and session tables if they are missing; returns what was done."""
        with self.db.begin() as conn:
            existing = set(sa.inspect(conn).get_table_names())
            missing = [t for t in (self.login, self.token, self.session) if t.name not in existing]
            if missing:
                self.login.metadata.create_all(conn, tables=missing)
        self._ready = True
        return [f"create table {t.name} ({len(t.columns)} columns)" for t in missing]

    def _ensure_tables(self) -> None:
        if not self._ready:
            self.migrate()

    def _now(self) -> dt.datetime:
        return self.engine.records.clock()

    # -- users -------------------------------------------------------------------------

    def create_user(
        self, username: str, display_name: str, password: str, roles: Iterable[str], *,
        email: str | None = None, team: str | None = None,
    ) -> int:
        """Create the `user` record and its login; the record's rules apply (RecordValidationError)."""
        self._ensure_tables()
        role_names = self._checked_roles(roles)
        password_hash = self._hash_password(password)
        values: dict[str, Any] = {"username": username, "display_name": display_name}
        if email:
            values["email"] = email
        if team:
            values["team"] = team
        with self.engine.records.transaction(SYSTEM_ACTOR) as tx:
            user = tx.create(USER_ENTITY, values)
            tx.conn.execute(self.login.insert().values(
                user_id=user["id"], password_hash=password_hash, roles=role_names, active=True, updated_at=tx.now,
            ))
        return user["id"]

    def user_id(self, username: str) -> int:
        """The id of the live user called `username` (AccountError if there is none)."""
        with self.db.connect() as conn:
            found = conn.execute(
                sa.select(self.users.c.id).where(self.users.c.username == username, self.users.c.deleted_at.is_(None))
            ).scalar()
        if found is None:
            raise AccountError(f"no user '{username}'")
        return found

    def list_users(self) -> list[dict[str, Any]]:
        """Every live user with `id`, `username`, `display_name`, `roles`, `can_log_in`, `active`."""
        self._ensure_tables()
        users, login = self.users, self.login
        query = (
            sa.select(users.c.id, users.c.username, users.c.display_name, login.c.roles, login.c.active,
                      login.c.user_id.label("login"))
            .select_from(users.outerjoin(login, login.c.user_id == users.c.id))
            .where(users.c.deleted_at.is_(None))
            .order_by(users.c.username)
        )
        with self.db.connect() as conn:
            rows = conn.execute(query).all()
        return [
            {"id": r.id, "username": r.username, "display_name": r.display_name, "roles": list(r.roles or []),
             "can_log_in": r.login is not None, "active": bool(r.active) if r.login is not None else False}
            for r in rows
        ]

    def set_roles(self, user_id: int, roles: Iterable[str]) -> list[str]:
        """Replace the user's roles (a user without a login gets one, unusable until a password is set)."""
        self._ensure_tables()
        role_names = self._checked_roles(roles)
        self._upsert_login(user_id, roles=role_names)
        return role_names

    def set_password(self, user_id: int, password: str) -> None:
        """A new password; the user's page sessions end (whoever changes it: the user or an administrator)."""
        self._ensure_tables()
        password_hash = self._hash_password(password)
        self._retry_once_on_race(lambda: self._upsert_login(user_id, password_hash=password_hash, end_sessions=True))

    # -- page sessions -------------------------------------------------------------------

    def session_generation(self, user_id: int) -> int:
        """The generation a session opened now records (0 until the user's sessions first end)."""
        self._ensure_tables()
        with self.db.connect() as conn:
            found = conn.execute(sa.select(self.session.c.generation).where(self.session.c.user_id == user_id)).scalar()
        return int(found or 0)

    def end_sessions(self, user_id: int) -> int:
        """End every page session of the user (logging out does it); returns the new generation."""
        self._ensure_tables()

        def bump() -> int:
            with self.db.begin() as conn:
                return self._next_generation(conn, user_id, self._now())

        return self._retry_once_on_race(bump)

    def session_actor(self, user_id: int, generation: int, *, lang: str = "en") -> Actor | None:
        """The actor of a page session opened under `generation`, or None when it is over: the user's
        sessions ended since, or the login is no longer usable (switched off, user inactive or deleted)."""
        self._ensure_tables()
        users, session = self.users, self.session
        team = users.c.team if "team" in users.c else sa.null()
        query = (
            sa.select(users.c.id, users.c.username, team.label("team"), self.login.c.roles,
                      sa.func.coalesce(session.c.generation, 0).label("generation"))
            .select_from(self.login.join(users, users.c.id == self.login.c.user_id)
                         .outerjoin(session, session.c.user_id == self.login.c.user_id))
            .where(self.login.c.user_id == user_id, *self._usable())
        )
        with self.db.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.generation != generation:
            return None
        return Actor(user_id=row.id, username=row.username, roles=frozenset(row.roles or ()), lang=lang, team=row.team)

    def set_active(self, user_id: int, active: bool) -> None:
        """Switch a login off (or on again); its tokens stop working while it is off."""
        self._ensure_tables()
        self._upsert_login(user_id, active=active)

    def authenticate(self, username: str, password: str, *, lang: str = "en") -> Actor | None:
        """The actor for a correct username and password of an active login, else None."""
        self._ensure_tables()
        query = (
            sa.select(self.login.c.user_id, self.login.c.password_hash)
            .select_from(self.login.join(self.users, self.users.c.id == self.login.c.user_id))
            .where(self.users.c.username == username, *self._usable())
        )
        with self.db.connect() as conn:
            row = conn.execute(query).first()
        stored = row.password_hash if row is not None and row.password_hash else None
        # The same slow check whether or not the user exists or has a password: no timing oracle.
        correct = check_password_hash(stored or self._dummy(), password)
        if stored is None or not correct:
            return None
        return self.actor_for(row.user_id, lang=lang)

    def actor_for(self, user_id: int, lang: str = "en") -> Actor:
        """The `Actor` of a user: username and team from the user record, roles from the login."""
        self._ensure_tables()
        users = self.users
        team = users.c.team if "team" in users.c else sa.null()
        query = (
            sa.select(users.c.id, users.c.username, team.label("team"), self.login.c.roles)
            .select_from(users.outerjoin(self.login, self.login.c.user_id == users.c.id))
            .where(users.c.id == user_id, users.c.deleted_at.is_(None))
        )
        with self.db.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(USER_ENTITY, user_id)
        return Actor(user_id=row.id, username=row.username, roles=frozenset(row.roles or ()), lang=lang, team=row.team)

    # -- tokens ------------------------------------------------------------------------

    def create_token(self, user_id: int, name: str = "api") -> str:
        """A new API token for the user; the token is returned once and never stored."""
        self._ensure_tables()
        name = name.strip()
        if not name or len(name) > 80:
            raise AccountError("a token name has 1 to 80 characters")
        if not self._has_login(user_id):
            raise AccountError(f"user {user_id} has no login: give them roles first")
        token = secrets.token_urlsafe(32)
        with self.db.begin() as conn:
            conn.execute(self.token.insert().values(
                user_id=user_id, name=name, token_hash=hash_token(token), created_at=self._now(),
            ))
        return token

    def list_tokens(self, user_id: int) -> list[TokenInfo]:
        self._ensure_tables()
        t = self.token
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.user_id == user_id).order_by(t.c.id)).all()
        return [TokenInfo(r.id, r.user_id, r.name, r.created_at, r.last_used_at, r.revoked_at) for r in rows]

    def revoke_token(self, token_id: int) -> TokenInfo:
        """Revoke a token for good (revoking it again changes nothing)."""
        self._ensure_tables()
        t = self.token
        with self.db.begin() as conn:
            conn.execute(t.update().where(t.c.id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=self._now()))
            row = conn.execute(sa.select(t).where(t.c.id == token_id)).first()
        if row is None:
            raise AccountError(f"no token {token_id}")
        return TokenInfo(row.id, row.user_id, row.name, row.created_at, row.last_used_at, row.revoked_at)

    def actor_for_token(self, token: str, *, lang: str = "en") -> Actor | None:
        """The actor of a valid token; None for an unknown or revoked token or an inactive user.

        Every API request asks: one query reads the token, the login and the user, and the same
        connection notes when the token was last used (at most once per LAST_USED_PRECISION)."""
        if not token:
            return None
        self._ensure_tables()
        t, users = self.token, self.users
        team = users.c.team if "team" in users.c else sa.null()
        query = (
            sa.select(t.c.id, t.c.last_used_at, users.c.id.label("user_id"), users.c.username, team.label("team"),
                      self.login.c.roles)
            .select_from(t.join(self.login, self.login.c.user_id == t.c.user_id)
                         .join(users, users.c.id == t.c.user_id))
            .where(t.c.token_hash == hash_token(token), t.c.revoked_at.is_(None), *self._usable())
        )
        now = self._now()
        with self.db.connect() as conn:
            row = conn.execute(query).first()
            if row is not None and (row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION):
                conn.execute(t.update().where(t.c.id == row.id).values(last_used_at=now))
                conn.commit()
        if row is None:
            return None
        return Actor(user_id=row.user_id, username=row.username, roles=frozenset(row.roles or ()), lang=lang,
                     team=row.team)

    # -- internals -----------------------------------------------------------------------

    def _usable(self) -> list[sa.ColumnElement[bool]]:
        """Conditions of a login that may be used: active login, live and active user."""
        conditions = [self.login.c.active.is_(True), self.users.c.deleted_at.is_(None)]
        if "active" in self.users.c:
            conditions.append(sa.or_(self.users.c.active.is_(None), self.users.c.active.is_(True)))
        return conditions

    def _checked_roles(self, roles: Iterable[str]) -> list[str]:
        names = list(dict.fromkeys(roles))
        known = self.engine.model.roles
        unknown = [name for name in names if name not in known]
        if unknown:
            available = ", ".join(sorted(known)) or "none"
            raise AccountError(f"unknown role(s): {', '.join(unknown)} (roles defined: {available})")
        return names

    def _hash_password(self, password: str) -> str:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
        return generate_password_hash(password, method=PASSWORD_METHOD)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = generate_password_hash(secrets.token_urlsafe(16), method=PASSWORD_METHOD)
        return self._dummy_hash

    def _has_login(self, user_id: int) -> bool:
        with self.db.connect() as conn:
            return conn.execute(sa.select(self.login.c.user_id).where(self.login.c.user_id == user_id)).first() is not None

    def _next_generation(self, conn: sa.Connection, user_id: int, now: dt.datetime) -> int:
        """Move the user's session generation on by one (its row is created at 1 the first time)."""
        s = self.session
        changed = conn.execute(
            s.update().where(s.c.user_id == user_id).values(generation=s.c.generation + 1, changed_at=now)
        ).rowcount
        if not changed:
            conn.execute(s.insert().values(user_id=user_id, generation=1, changed_at=now))
        return int(conn.execute(sa.select(s.c.generation).where(s.c.user_id == user_id)).scalar_one())

    @staticmethod
    def _retry_once_on_race(write: Callable[[], _T]) -> _T:
        """Run `write` again once when it lost a race to create the same row (a unique key refused it):
        the second time the row exists and is updated."""
        try:
            return write()
        except sa.exc.IntegrityError:
            return write()

    def _upsert_login(self, user_id: int, *, end_sessions: bool = False, **values: Any) -> None:
        """Change the user's login row, creating it (no password, no role, active) if needed;
        `end_sessions`: end the user's page sessions in the same transaction."""
        with self.db.begin() as conn:
            exists = conn.execute(
                sa.select(self.users.c.id).where(self.users.c.id == user_id, self.users.c.deleted_at.is_(None))
            ).first()
            if exists is None:
                raise NotFoundError(USER_ENTITY, user_id)
            now = self._now()
            changed = conn.execute(
                self.login.update().where(self.login.c.user_id == user_id).values(**values, updated_at=now)
            ).rowcount
            if not changed:
                row = {"password_hash": "", "roles": [], "active": True, **values}
                conn.execute(self.login.insert().values(user_id=user_id, updated_at=now, **row))
            if end_sessions:
                self._next_generation(conn, user_id, now)
