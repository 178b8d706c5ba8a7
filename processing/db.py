"""Declarative base, engine factory and the one helper that hides dialect differences.

Everything PostgreSQL-specific (row locks, ``ON CONFLICT``) goes through the functions here so
the embedded SQLite mode runs the same domain code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import psycopg
from psycopg import sql
from sqlalchemy import (
    ClauseElement,
    Engine,
    MetaData,
    Select,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    make_url,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import BindTyping, CursorResult
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import ConnectionPoolEntry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def partial_index(condition: str) -> dict[str, Any]:
    """The keywords of an ``Index`` that holds only the rows meeting ``condition`` (SQL), on
    both dialects."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy, not pysqlite, issue BEGIN (see _sqlite_on_begin) and make SQLite behave:
    # WAL for concurrent readers, a busy timeout instead of instant "database is locked".
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    dbapi_connection.create_function("json_canon", 1, _json_canon, deterministic=True)
    # SQLite's own lower() folds ASCII only; Russian names must fold as on PostgreSQL.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(text: str | None) -> str | None:
    return text.lower() if isinstance(text, str) else text


def _json_canon(document: str | None) -> str | None:
    """SQLite's ``json_canon(x)``: a JSON text with its keys sorted, so two texts of the same
    object compare equal whatever order their keys came in (PostgreSQL compares ``jsonb``)."""
    return None if document is None else json.dumps(json.loads(document), sort_keys=True)


def _sqlite_on_begin(connection: Any) -> None:
    # SQLite has no row locks: taking the write lock at BEGIN serialises writers, so the
    # read-check-write sequences that PostgreSQL guards with FOR UPDATE stay correct.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """Create the engine for ``url``; call it after the process forks, never before.

    Statement parameters stay out of exception texts (``hide_parameters``): they hold names,
    phones and e-mails, and exceptions end up in logs."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, hide_parameters=True, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping per checkout (a round trip on every request): a connection the server
        # dropped fails its request once, and the pool then replaces all older connections.
        pool_pre_ping=False,
        pool_recycle=1800,
    )


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def relax_durability(session: Session) -> None:
    """For a transaction whose only writes may be lost in a database crash (a recomputable soft
    result, the log row of a personal-data read): PostgreSQL then does not wait for the WAL flush
    at commit, and at most the last moments of such rows are lost in a crash."""
    if is_postgresql(session):
        session.execute(text("SET LOCAL synchronous_commit = off"))


def pg_connection(session: Session) -> psycopg.Connection[Any] | None:
    """The session's own psycopg connection, inside the session's transaction, for the
    hand-written SQL of the receipt hot paths; None on SQLite (they use the ORM there)."""
    if not is_postgresql(session):
        return None
    return cast("psycopg.Connection[Any]", session.connection().connection.driver_connection)


class _PsycopgText(PGDialect_psycopg):
    # No ``::TYPE`` after each parameter: psycopg adapts the values and the server infers
    # their types, as in hand-written SQL; explicit casts are written with cast().
    bind_typing = BindTyping.NONE


_PSYCOPG = _PsycopgText()  # type: ignore[no-untyped-call]


def compile_for_psycopg(statement: ClauseElement) -> str:
    """A Core statement as one line of PostgreSQL in psycopg's ``%(name)s`` style, for the hot
    paths that execute on the raw psycopg connection (``pg_connection``); compile it once, at
    import, not per request. Parameters keep their ``bindparam`` names. Whitespace is collapsed,
    so no string literal in the statement may hold a run of it."""
    return " ".join(str(statement.compile(dialect=_PSYCOPG)).split())


SelectT = TypeVar("SelectT", bound=Select[Any])


def lock_rows(stmt: SelectT, of: Any = None) -> SelectT:
    """``SELECT ... FOR UPDATE [OF of]`` on PostgreSQL; on SQLite the transaction already holds
    the database write lock (BEGIN IMMEDIATE) and SQLAlchemy renders no clause."""
    return stmt.with_for_update(of=of)


InsertTarget = type[Base] | Table


def _insert_for(session: Session, target: InsertTarget) -> Any:
    # Core insert on the table, not the ORM entity: the ORM bulk path hides the rowcount.
    table: Any = inspect(target).local_table if isinstance(target, type) else target
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert support for dialect {dialect}")


def insert_ignore(
    session: Session,
    table: InsertTarget,
    rows: Sequence[Mapping[str, Any]],
    conflict_columns: Iterable[str] | None,
) -> int:
    """``INSERT ... ON CONFLICT (cols) DO NOTHING`` as one multi-row statement; returns how many
    rows were inserted. ``None`` ignores a conflict on any unique constraint. Callers chunk very
    large inputs."""
    if not rows:
        return 0
    target = list(conflict_columns) if conflict_columns is not None else None
    stmt = (
        _insert_for(session, table).values(list(rows)).on_conflict_do_nothing(index_elements=target)
    )
    # SQLAlchemy reports an INSERT's rowcount only when asked to keep it.
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        stmt, execution_options={"preserve_rowcount": True}
    )
    return result.rowcount


SQLITE_MAX_VARIABLES = 32_766  # bound parameters a statement may have (SQLite 3.32+)


def insert_column_ignore(
    session: Session,
    table: InsertTarget,
    fixed: Mapping[str, Any],
    column: str,
    values: Sequence[Any],
    conflict_columns: Iterable[str],
) -> int:
    """Rows alike but for one column (``values``; the other columns ``fixed``), inserted with
    ``ON CONFLICT (cols) DO NOTHING``; returns how many were inserted. On PostgreSQL one
    statement takes the values as one array (``INSERT … SELECT unnest(:values)``): a fraction of
    the cost of a multi-row VALUES of the same size, whose compilation dominates large batches.
    Elsewhere ``insert_ignore``."""
    if not values:
        return 0
    if session.get_bind().dialect.name != "postgresql":
        conflict = list(conflict_columns)
        step = SQLITE_MAX_VARIABLES // (len(fixed) + 1)
        return sum(
            insert_ignore(
                session, table, [{**fixed, column: value} for value in values[start:start + step]],
                conflict,
            )
            for start in range(0, len(values), step)
        )  # fmt: skip
    target: Any = inspect(table).local_table if isinstance(table, type) else table
    columns = [*fixed, column]
    rows = select(
        *(
            bindparam(f"fixed_{name}", value, type_=target.c[name].type)
            for name, value in fixed.items()
        ),
        func.unnest(
            bindparam("values", list(values), type_=postgresql.ARRAY(target.c[column].type))
        ),
    )
    stmt = (
        postgresql.insert(target)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
    )
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        stmt, execution_options={"preserve_rowcount": True}
    )
    return result.rowcount


def upsert(
    session: Session,
    table: InsertTarget,
    row: Mapping[str, Any],
    conflict_columns: Iterable[str],
    update_columns: Iterable[str],
) -> None:
    """``INSERT ... ON CONFLICT (cols) DO UPDATE SET`` the given columns from the new row."""
    stmt = _insert_for(session, table).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(conflict_columns),
        set_={name: stmt.excluded[name] for name in update_columns},
    )
    session.execute(stmt)


ModelT = TypeVar("ModelT", bound=Base)


def insert_ignore_returning(
    session: Session, model: type[ModelT], values: Mapping[str, Any]
) -> ModelT | None:
    """Insert one row unless it conflicts with a unique constraint; returns the new instance
    (None on a conflict) in one round trip."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(model).values(**values).on_conflict_do_nothing().returning(model)
    return session.scalars(stmt).first()


BULK_PAGE = 1_000  # rows per statement where COPY is not available


def copy_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert many rows (values in ``columns`` order, as the database stores them: no bind
    processing) in the session's transaction: ``COPY`` on PostgreSQL, pages of ``executemany``
    on SQLite. Persistence only: the caller decided every value."""
    if not rows:
        return
    connection = pg_connection(session)
    if connection is None:
        for start in range(0, len(rows), BULK_PAGE):
            page = rows[start : start + BULK_PAGE]
            session.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in page])
        return
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


IN_CHUNK = 500  # values per IN list on SQLite (its bound-parameter limit)


def where_in(session: Session, column: Any, values: Iterable[Any]) -> Iterator[Any]:
    """Conditions ``column IN values`` to run one query each: a single array parameter on
    PostgreSQL (``= ANY(:values)``: one plan, no statement thousands of parameters long),
    chunks of ``IN`` lists on SQLite. Nothing for no values."""
    unique = sorted(set(values))
    if not unique:
        return
    if is_postgresql(session):
        yield column == any_(bindparam(None, unique, type_=postgresql.ARRAY(column.type)))
        return
    for start in range(0, len(unique), IN_CHUNK):
        yield column.in_(unique[start : start + IN_CHUNK])
