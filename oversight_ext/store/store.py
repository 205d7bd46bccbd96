"""The store: items, critiques, studies, assignments and append-only judgments.

One class over SQLAlchemy Core serves SQLite and PostgreSQL alike. Writes of many rows are
all-or-nothing: a batch that fails validation stores none of its rows and changes nothing
already stored. Judgments are never updated; a correction is a new row whose ``supersedes``
names the row it replaces, and a resubmission of the same ``submission_id`` returns the row
already stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from oversight_ext.records import Assignment, Critique, Item, Judgment, RecordError, Study, to_frame, utcnow

from . import db, schema
from .db import StoreError

__all__ = ["Conflict", "Store", "StoreError", "UnknownRecord"]


# Judgment columns the store copies from the judged assignment rather than trusting the client.
_FROM_ASSIGNMENT = ("study", "item_id", "condition")
# ... and the columns that come from the judgment itself (received_at is the store's clock).
_CLIENT_COLUMNS = tuple(c.name for c in schema.judgments.columns if c.name not in (*_FROM_ASSIGNMENT, "seq"))


class UnknownRecord(StoreError, LookupError):
    """A record names another (an assignment, an item, a study) that the store does not hold."""


class Conflict(StoreError):
    """A write contradicts what is stored (same id, different content)."""


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes: everything the store writes is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def _row(record: Any) -> dict[str, Any]:
    """A record as a table row: nested records and tuples become JSON-able lists and dicts."""
    out = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if isinstance(value, tuple):
            value = [v.to_dict() if hasattr(v, "to_dict") else v for v in value]
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        out[f.name] = value
    return out


def _from_row(cls: Any, row: sa.Row[Any] | dict[str, Any]) -> Any:
    data = dict(row._mapping if isinstance(row, sa.Row) else row)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {k: _utc(v) if isinstance(v, dt.datetime) else v for k, v in data.items() if k in names}
    return cls.from_dict(kwargs)


class Store:
    """Durable storage of every record. ``Store(None)`` opens ``$OVERSIGHT_DB`` or ``./oversight.db``.

    The schema is migrated to the newest revision on open (``migrate=False`` to skip).
    """

    def __init__(self, db_url: str | os.PathLike[str] | None = None, *, migrate: bool = True) -> None:
        self.url = db.resolve_url(db_url)
        self.engine = db.make_engine(self.url)
        if migrate:
            db.upgrade(self.engine)
        # Submissions are single atomic statements: they go through an engine of their own whose
        # connections stay in autocommit mode (about 0.1-0.4 ms less per submission than
        # switching a pooled connection's isolation level on every checkout).
        self._writer = db.make_engine(self.url, autocommit=True)
        self._insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        self._submit_stmt = {False: self._submit_statement(supersedes=False), True: self._submit_statement(supersedes=True)}

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()
        self._writer.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    # ------------------------------------------------------------------ items

    def add_items(self, items: Iterable[Item], *, replace: bool = False) -> tuple[int, int]:
        """Store items; returns (added, unchanged). All or nothing.

        An item whose id is stored with identical content is left alone. One whose content
        differs raises :class:`Conflict` unless ``replace=True``; items that judgments refer
        to can never be replaced, since that would change the gold those judgments were
        scored against.
        """
        batch = list(items)
        ids = [it.id for it in batch]
        dup = {i for i in ids if ids.count(i) > 1} if len(set(ids)) != len(ids) else set()
        if dup:
            raise Conflict(f"the batch holds item id {sorted(dup)[0]!r} more than once; give each item a unique id")
        added = unchanged = 0
        now = utcnow()
        with self.engine.begin() as conn:
            existing: dict[str, Item] = {}
            for chunk in _chunks(ids, 500):
                for row in conn.execute(sa.select(schema.items).where(schema.items.c.id.in_(chunk))):
                    existing[row.id] = _from_row(Item, row)
            to_insert, to_replace = [], []
            for it in batch:
                old = existing.get(it.id)
                if old is None:
                    to_insert.append({**_row(it), "created_at": now})
                elif old == it:
                    unchanged += 1
                elif not replace:
                    raise Conflict(
                        f"item {it.id!r} is already stored with different content; "
                        "give the new item another id, or pass replace=True (--replace) to overwrite it"
                    )
                else:
                    to_replace.append(it)
            if to_replace:
                judged = conn.execute(
                    sa.select(schema.judgments.c.item_id).where(schema.judgments.c.item_id.in_([i.id for i in to_replace])).limit(1)
                ).first()
                if judged is not None:
                    raise Conflict(f"item {judged.item_id!r} has judgments; it cannot be replaced. Import the new version under a new id")
                for it in to_replace:
                    conn.execute(schema.items.update().where(schema.items.c.id == it.id).values(**_row(it)))
            for chunk in _chunks(to_insert, 200):
                conn.execute(schema.items.insert(), chunk)
            added = len(to_insert) + len(to_replace)
        return added, unchanged

    def get_item(self, item_id: str) -> Item:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(schema.items).where(schema.items.c.id == item_id)).first()
        if row is None:
            raise UnknownRecord(f"no item with id {item_id!r}; list stored items with `oversight items list`")
        return _from_row(Item, row)

    def iter_items(self, *, source: str | None = None, language: str | None = None, ids: Sequence[str] | None = None) -> Iterator[Item]:
        q = sa.select(schema.items).order_by(schema.items.c.created_at, schema.items.c.id)
        if source is not None:
            q = q.where(schema.items.c.source == source)
        if language is not None:
            q = q.where(schema.items.c.language == language)
        if ids is not None:
            q = q.where(schema.items.c.id.in_(list(ids)))
        with self.engine.connect() as conn:
            for row in conn.execute(q):
                yield _from_row(Item, row)

    def items_frame(self, **filters: Any) -> pl.DataFrame:
        """Items as a polars frame with :func:`records.frame_schema` columns."""
        return to_frame(self.iter_items(**filters), Item)

    def count(self, table: str) -> int:
        t = schema.metadata.tables[table]
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())

    # ------------------------------------------------------------------ critiques

    def add_critiques(self, critiques: Iterable[Critique]) -> int:
        """Store critiques (all or nothing); a critique id already stored is left as it is."""
        rows = [_row(c) for c in critiques]
        if not rows:
            return 0
        with self.engine.begin() as conn:
            item_ids = {r["item_id"] for r in rows}
            known = set(conn.execute(sa.select(schema.items.c.id).where(schema.items.c.id.in_(item_ids))).scalars())
            missing = item_ids - known
            if missing:
                raise UnknownRecord(f"critique for unknown item {sorted(missing)[0]!r}; import the item first")
            stmt = self._insert(schema.critiques).on_conflict_do_nothing(index_elements=["id"]).returning(schema.critiques.c.id)
            # RETURNING counts what was inserted on both dialects (psycopg reports no rowcount here).
            return sum(len(conn.execute(stmt.values(**row)).all()) for row in rows)

    def get_critique(self, critique_id: str) -> Critique:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(schema.critiques).where(schema.critiques.c.id == critique_id)).first()
        if row is None:
            raise UnknownRecord(f"no critique with id {critique_id!r}")
        return _from_row(Critique, row)

    def find_critique(self, item_id: str, spec_hash: str) -> Critique | None:
        """The newest cached critique of ``item_id`` by the critic whose spec hashes to ``spec_hash``."""
        q = (
            sa.select(schema.critiques)
            .where(schema.critiques.c.item_id == item_id, schema.critiques.c.spec_hash == spec_hash)
            .order_by(schema.critiques.c.created_at.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return None if row is None else _from_row(Critique, row)

    def critiques_frame(self, *, assistant: str | None = None) -> pl.DataFrame:
        q = sa.select(schema.critiques).order_by(schema.critiques.c.created_at)
        if assistant is not None:
            q = q.where(schema.critiques.c.assistant == assistant)
        with self.engine.connect() as conn:
            return to_frame((_from_row(Critique, r) for r in conn.execute(q)), Critique)

    # ------------------------------------------------------------------ raters and studies

    def add_rater(self, rater: str, *, kind: str = "human", role: str = "rater", params: dict[str, Any] | None = None) -> None:
        """Register a rater (idempotent). ``kind`` is human or simulated; ``role`` rater or owner."""
        if kind not in ("human", "simulated"):
            raise RecordError("Rater", "kind", kind, "use 'human' or 'simulated'")
        if role not in ("rater", "owner"):
            raise RecordError("Rater", "role", role, "use 'rater' or 'owner'")
        if not rater or not isinstance(rater, str):
            raise RecordError("Rater", "id", rater, "give a non-empty rater id")
        with self.engine.begin() as conn:
            old = conn.execute(sa.select(schema.raters).where(schema.raters.c.id == rater)).first()
            if old is None:
                conn.execute(schema.raters.insert().values(id=rater, kind=kind, role=role, params=params or {}, created_at=utcnow()))
            elif old.kind != kind:
                raise Conflict(f"rater {rater!r} is stored as {old.kind}; a rater cannot change between human and simulated")
            elif old.role != role and role == "owner":
                conn.execute(schema.raters.update().where(schema.raters.c.id == rater).values(role=role))

    def rater(self, rater: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(schema.raters).where(schema.raters.c.id == rater)).first()
        return None if row is None else dict(row._mapping)

    def raters_frame(self) -> pl.DataFrame:
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(sa.select(schema.raters).order_by(schema.raters.c.id))]
        schema_ = {"id": pl.Utf8, "kind": pl.Utf8, "role": pl.Utf8}
        return pl.DataFrame([{k: r[k] for k in schema_} for r in rows], schema=schema_)

    def create_study(
        self,
        name: str,
        config: Any,
        assignments: Sequence[Assignment],
        *,
        seed: int,
        code_version: str,
        owner: str | None = None,
    ) -> None:
        """Store a study and its frozen assignment table in one transaction.

        ``config`` is a ``StudyConfig`` (stored as its ``to_dict()``) or that dict form.
        """
        if hasattr(config, "to_dict"):
            config = config.to_dict()
        if not isinstance(config, dict):
            raise RecordError("Study", "config", config, "give a StudyConfig or its to_dict() form")
        if not name or not isinstance(name, str):
            raise RecordError("Study", "name", name, "give a non-empty study name")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise RecordError("Study", "seed", seed, "give an integer seed")
        for a in assignments:
            if a.study != name:
                raise RecordError("Assignment", "study", a.study, f"every assignment of study {name!r} must name it")
        with self.engine.begin() as conn:
            if conn.execute(sa.select(schema.studies.c.name).where(schema.studies.c.name == name)).first():
                raise Conflict(f"study {name!r} already exists; its assignments are frozen. Choose another name")
            item_ids = {a.item_id for a in assignments}
            known: set[str] = set()
            for chunk in _chunks(sorted(item_ids), 500):
                known |= set(conn.execute(sa.select(schema.items.c.id).where(schema.items.c.id.in_(chunk))).scalars())
            if item_ids - known:
                raise UnknownRecord(f"study {name!r} assigns unknown item {sorted(item_ids - known)[0]!r}; import it first")
            conn.execute(
                schema.studies.insert().values(
                    name=name, config=config, seed=seed, code_version=code_version, owner=owner, created_at=utcnow()
                )
            )
            for chunk in _chunks([_row(a) for a in assignments], 500):
                conn.execute(schema.assignments.insert(), chunk)

    def study(self, name: str) -> Study:
        """The stored study as a typed :class:`~oversight_ext.records.Study` (config, seed, QC items...)."""
        a = schema.assignments
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(schema.studies).where(schema.studies.c.name == name)).first()
            if row is None:
                raise UnknownRecord(f"no study named {name!r}; create it with `oversight study create FILE`")
            qc = conn.execute(sa.select(a.c.item_id).where(a.c.study == name, a.c.is_qc).distinct()).scalars().all()
        return Study.from_config(
            row.config or {},
            name=row.name,
            seed=row.seed,
            code_version=row.code_version,
            owner=row.owner,
            created_at=_utc(row.created_at),
            qc_item_ids=qc,
        )

    def study_names(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(schema.studies.c.name).order_by(schema.studies.c.created_at)).scalars())

    def set_state(self, study: str, key: str, value: Any, *, by: str | None = None) -> None:
        """Set a mutable setting of a running study (its design stays frozen)."""
        self.study(study)  # refuses an unknown study with a clear message
        st = schema.study_state
        with self.engine.begin() as conn:
            stmt = self._insert(st).values(study=study, key=key, value=value, updated_by=by, updated_at=utcnow())
            conn.execute(
                stmt.on_conflict_do_update(index_elements=["study", "key"], set_={"value": value, "updated_by": by, "updated_at": utcnow()})
            )

    def ensure_state(self, study: str, key: str, value: Any, *, by: str | None = None) -> Any:
        """The stored value of ``key``, storing ``value`` first if there is none (first writer wins).

        Safe under concurrency: two servers racing store one value and both read it back.
        """
        self.study(study)
        st = schema.study_state
        with self.engine.begin() as conn:
            stmt = self._insert(st).values(study=study, key=key, value=value, updated_by=by, updated_at=utcnow())
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["study", "key"]))
            return conn.execute(sa.select(st.c.value).where(st.c.study == study, st.c.key == key)).scalar_one()

    def get_state(self, study: str, key: str, default: Any = None) -> Any:
        st = schema.study_state
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(st.c.value).where(st.c.study == study, st.c.key == key)).first()
        return default if row is None else row.value

    def get_assignment(self, assignment_id: str) -> Assignment:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(schema.assignments).where(schema.assignments.c.id == assignment_id)).first()
        if row is None:
            raise UnknownRecord(f"no assignment with id {assignment_id!r}")
        return _from_row(Assignment, row)

    def assignments(self, study: str | None = None, rater: str | None = None) -> list[Assignment]:
        q = sa.select(schema.assignments).order_by(schema.assignments.c.study, schema.assignments.c.rater, schema.assignments.c.position)
        if study is not None:
            q = q.where(schema.assignments.c.study == study)
        if rater is not None:
            q = q.where(schema.assignments.c.rater == rater)
        with self.engine.connect() as conn:
            return [_from_row(Assignment, r) for r in conn.execute(q)]

    def assignments_frame(self, study: str | None = None, rater: str | None = None) -> pl.DataFrame:
        return to_frame(self.assignments(study, rater), Assignment)

    def mark_sent(self, assignment_id: str) -> dt.datetime:
        """Record that the server sent ``assignment_id``'s item view now, unless it did before;
        returns the first time it was sent (the start of server-side time on task)."""
        t = schema.assignment_sent
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(t)
                .values(assignment_id=assignment_id, first_sent_at=utcnow())
                .on_conflict_do_nothing(index_elements=["assignment_id"])
            )
            first = conn.execute(sa.select(t.c.first_sent_at).where(t.c.assignment_id == assignment_id)).scalar_one()
        return _utc(first)  # type: ignore[return-value]

    def first_sent(self, study: str) -> dict[str, dt.datetime]:
        """Assignment id -> when the server first sent it, for the assignments of ``study`` it sent."""
        t, a = schema.assignment_sent, schema.assignments
        q = sa.select(t.c.assignment_id, t.c.first_sent_at).join(a, a.c.id == t.c.assignment_id).where(a.c.study == study)
        with self.engine.connect() as conn:
            return {r.assignment_id: _utc(r.first_sent_at) for r in conn.execute(q)}  # type: ignore[misc]

    # ------------------------------------------------------------------ judgments

    def _submit_statement(self, *, supersedes: bool) -> Any:
        """The one statement a submission is: copy study/item/condition from the rater's own
        assignment, and do nothing if the submission id is already stored. Built once per
        store with bound parameters, so a submission costs no statement construction."""
        j, a = schema.judgments, schema.assignments
        values = [sa.bindparam(f"v_{name}", type_=j.c[name].type).label(name) for name in _CLIENT_COLUMNS]
        pick = sa.select(*values, a.c.study, a.c.item_id, a.c.condition).where(
            a.c.id == sa.bindparam("p_assignment"), a.c.rater == sa.bindparam("p_rater")
        )
        if supersedes:
            prior = sa.select(j.c.seq).where(
                j.c.submission_id == sa.bindparam("p_prior"), j.c.assignment_id == sa.bindparam("p_assignment")
            )
            pick = pick.where(prior.exists())
        return (
            self._insert(j)
            .from_select([*_CLIENT_COLUMNS, *_FROM_ASSIGNMENT], pick)
            .on_conflict_do_nothing(index_elements=["submission_id"])
            .returning(j.c.study, j.c.item_id, j.c.condition)
        )

    def submit(self, judgment: Judgment) -> tuple[Judgment, bool]:
        """Append a judgment; see :meth:`_submit`. Retried on a dropped connection: it is idempotent."""
        for attempt in range(3):
            try:
                return self._submit(judgment)
            except sa.exc.DBAPIError as exc:
                if not exc.connection_invalidated or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _submit(self, judgment: Judgment) -> tuple[Judgment, bool]:
        """Append a judgment; returns (stored judgment, created).

        The store fills ``study``, ``item_id`` and ``condition`` from the assignment and sets
        ``received_at``. A second submission with a stored ``submission_id`` creates nothing
        and returns the stored row with ``created=False``.
        """
        j, a = schema.judgments, schema.assignments
        row = _row(judgment)
        received = utcnow()
        row["received_at"] = received
        params = {f"v_{name}": row[name] for name in _CLIENT_COLUMNS}
        params.update(p_assignment=judgment.assignment_id, p_rater=judgment.rater, p_prior=judgment.supersedes)
        stmt = self._submit_stmt[judgment.supersedes is not None]
        # One atomic statement needs no transaction around it: autocommit saves the BEGIN and
        # COMMIT round trips, which dominate a submission's latency on PostgreSQL.
        with self._writer.connect() as conn:
            new = conn.execute(stmt, params).first()
            if new is not None:
                return dataclasses.replace(
                    judgment, received_at=received, study=new.study, item_id=new.item_id, condition=new.condition
                ), True
            # Nothing inserted: a resubmission, or a judgment that must be refused. Say which.
            existing = conn.execute(sa.select(j).where(j.c.submission_id == judgment.submission_id)).first()
            if existing is not None:
                return _from_row(Judgment, existing), False
            owner = conn.execute(sa.select(a.c.rater).where(a.c.id == judgment.assignment_id)).first()
        if owner is None:
            raise UnknownRecord(
                f"judgment {judgment.submission_id!r} names unknown assignment {judgment.assignment_id!r}; "
                "submit judgments only for assignments from the rater's queue"
            )
        if owner.rater != judgment.rater:
            raise RecordError("Judgment", "rater", judgment.rater, f"assignment {judgment.assignment_id!r} belongs to another rater")
        raise RecordError(
            "Judgment", "supersedes", judgment.supersedes, "name an earlier submission of the same assignment by the same rater"
        )

    def judgments(
        self,
        *,
        study: str | None = None,
        rater: str | None = None,
        assignment_id: str | None = None,
        current: bool = True,
        cannot_judge: bool = False,
    ) -> list[Judgment]:
        """Judgments in submission order; ``current=True`` leaves out superseded ones.

        "Cannot judge" records (no verdict) are left out unless ``cannot_judge=True``: every
        estimate reads verdicts only. They still supersede, so a verdict they replaced is not
        current either way."""
        j = schema.judgments
        q = sa.select(j).order_by(j.c.seq)
        if not cannot_judge:
            q = q.where(j.c.verdict.is_not(None))
        if study is not None:
            q = q.where(j.c.study == study)
        if rater is not None:
            q = q.where(j.c.rater == rater)
        if assignment_id is not None:
            q = q.where(j.c.assignment_id == assignment_id)
        if current:
            newer = sa.select(sa.literal(1)).where(j.alias("newer").c.supersedes == j.c.submission_id).exists()
            q = q.where(~newer)
        with self.engine.connect() as conn:
            return [_from_row(Judgment, r) for r in conn.execute(q)]

    def judgments_frame(
        self, *, study: str | None = None, rater: str | None = None, current: bool = True, cannot_judge: bool = False
    ) -> pl.DataFrame:
        return to_frame(self.judgments(study=study, rater=rater, current=current, cannot_judge=cannot_judge), Judgment)


def _chunks(seq: Sequence[Any], n: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
