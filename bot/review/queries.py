"""What the review console asks of the conversation log, as plain records.

Lists and filters read only the index rows (bot.tracking.models), with indexed SQL; Rasa's
event JSON is read for one conversation at a time, to show its transcript.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, TypeVar

from sqlalchemy import and_, case, delete, exists, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.db import as_stored, utcnow
from bot.review import auth
from bot.review import models as review_models
from bot.review.grouping import Unanswered
from bot.review.models import ContentGap, GapMessage
from bot.tracking import retention
from bot.tracking.indexer import FALLBACK_ACTIONS, reindex
from bot.tracking.models import (
    NOT_HELPFUL,
    AuditEntry,
    Conversation,
    Message,
    Tag,
    conversation_tags,
)
from bot.tracking.retention import Removed
from bot.tracking.store import EVENTS, create_tables

PER_PAGE = 50
AUDIT_PER_PAGE = 100
# The actions that mean "the assistant could not answer the message before": why, by name.
UNANSWERED_ACTIONS = {
    **dict.fromkeys(FALLBACK_ACTIONS, "fallback"),
    "action_not_on_page": "not_on_page",
    "utter_out_of_scope": "out_of_scope",
}
# The Unanswered page looks up actions by name and time in Rasa's events table; without this
# index (made by bot.migrations) that is a scan of every event (10,000 conversations: 250 ms,
# not 50 ms).
EVENTS_ACTION_INDEX = "ix_events_action_name_timestamp"
# A group's label or gap is applied to at most this many messages at once (a form's size).
MAX_GROUP_MESSAGES = 5000
GAP_NOTE_MAX = 2000
OUT_OF_SCOPE = "out_of_scope"
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,59}$")
STATUSES = ("any", "unreviewed", "reviewed")


class NotFound(LookupError):
    pass


@dataclass(frozen=True)
class Filters:
    """The list's filters, parsed from a query string; invalid values are reported, not used."""

    date_from: date | None = None
    date_to: date | None = None
    channel: str | None = None
    fallback: bool = False
    below: float | None = None
    negative_feedback: bool = False
    status: str = "any"
    tag: str | None = None
    text: str | None = None
    errors: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        errors: list[str] = []

        def day(name: str) -> date | None:
            value = (query.get(name) or "").strip()
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError:
                errors.append(f"{name}: not a date (YYYY-MM-DD)")
                return None

        below = None
        if (query.get("below") or "").strip():
            try:
                below = float(query["below"])
                if not 0 <= below <= 1:
                    raise ValueError
            except ValueError:
                errors.append("below: a confidence between 0 and 1")
                below = None
        status = query.get("status") or "any"
        if status not in STATUSES:
            errors.append(f"status: one of {', '.join(STATUSES)}")
            status = "any"
        return cls(
            date_from=day("from"),
            date_to=day("to"),
            channel=(query.get("channel") or "").strip() or None,
            fallback=query.get("fallback") in ("1", "on", "true"),
            below=below,
            negative_feedback=query.get("negative") in ("1", "on", "true"),
            status=status,
            tag=(query.get("tag") or "").strip().lower() or None,
            text=" ".join((query.get("q") or "").split())[:200] or None,
            errors=tuple(errors),
        )

    def as_query(self) -> dict[str, str]:
        """The query-string form (for links that keep the filters)."""
        pairs = {
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "channel": self.channel or "",
            "fallback": "1" if self.fallback else "",
            "below": f"{self.below:g}" if self.below is not None else "",
            "negative": "1" if self.negative_feedback else "",
            "status": self.status if self.status != "any" else "",
            "tag": self.tag or "",
            "q": self.text or "",
        }
        return {k: v for k, v in pairs.items() if v}


@dataclass(frozen=True)
class ConversationRow:
    id: int
    sender_id: str
    channel: str | None
    started_at: datetime
    last_at: datetime
    message_count: int
    preview: str
    fallback: bool
    min_confidence: float | None
    helpful: int
    not_helpful: int
    reviewed: bool
    reviewed_by: str | None
    note: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Page:
    rows: list[ConversationRow]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class MessageRow:
    id: int
    event_id: int
    text: str
    payload: bool
    intent: str | None
    confidence: float | None
    top_intent: str | None
    top_confidence: float | None
    entities: list[dict[str, Any]]
    feedback: str | None
    label: str | None
    labelled_by: str | None


@dataclass(frozen=True)
class Turn:
    """One line of a transcript: a user message, a bot reply, an action or a slot set."""

    kind: str
    at: datetime
    text: str = ""
    name: str = ""
    buttons: tuple[str, ...] = ()
    message: MessageRow | None = None


@dataclass(frozen=True)
class Transcript:
    conversation: ConversationRow
    turns: list[Turn]


@dataclass(frozen=True)
class Stats:
    days: list[tuple[date, int, int]]  # day, conversations, with a fallback
    conversations: int
    with_fallback: int
    top_intents: list[tuple[str, int]]
    helpful: int
    not_helpful: int

    @property
    def fallback_rate(self) -> float:
        return self.with_fallback / self.conversations if self.conversations else 0.0


@dataclass(frozen=True)
class Gap:
    """A content gap: the trainer's note and the messages put in it."""

    id: int
    note: str
    created_by: str
    created_at: datetime
    count: int
    first: datetime | None
    last: datetime | None
    examples: list[str]


@dataclass(frozen=True)
class Labelled:
    text: str
    label: str
    sender_id: str


@dataclass(frozen=True)
class AuditRow:
    """One line of the audit trail, as the Audit page shows it."""

    at: datetime
    action: str
    actor: str
    via: str
    conversation: str | None
    events: int | None
    conversations: int | None
    detail: str


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    pages: int


def day_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The UTC moments a range of whole days starts and ends (end excluded)."""
    return datetime.combine(date_from, time()), datetime.combine(date_to + timedelta(1), time())


Row = TypeVar("Row", ConversationRow, MessageRow)


def _copy(row: type[Row], model: object, **differing: Any) -> Row:
    """A row of the model's attributes of the same names; `differing`, the fields that are not."""
    same = {f.name: getattr(model, f.name) for f in fields(row) if f.name not in differing}
    return row(**same, **differing)


def _row(c: Conversation, tags: tuple[str, ...] = ()) -> ConversationRow:
    return _copy(
        ConversationRow,
        c,
        helpful=c.helpful_count,
        not_helpful=c.not_helpful_count,
        tags=tags,
    )


def _message_row(m: Message) -> MessageRow:
    return _copy(MessageRow, m, entities=json.loads(m.entities or "[]"))


def _conditions(filters: Filters) -> list[Any]:
    conditions: list[Any] = [Conversation.message_count > 0]
    if filters.date_from:
        conditions.append(Conversation.last_at >= datetime.combine(filters.date_from, time()))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time())
        conditions.append(Conversation.started_at < end)
    if filters.channel:
        conditions.append(Conversation.channel == filters.channel)
    if filters.fallback:
        conditions.append(Conversation.fallback.is_(True))
    if filters.below is not None:
        conditions.append(Conversation.min_confidence < filters.below)
    if filters.negative_feedback:
        conditions.append(Conversation.negative_feedback.is_(True))
    if filters.status == "reviewed":
        conditions.append(Conversation.reviewed.is_(True))
    elif filters.status == "unreviewed":
        conditions.append(Conversation.reviewed.is_(False))
    if filters.tag:
        conditions.append(
            exists()
            .where(conversation_tags.c.conversation_id == Conversation.id)
            .where(conversation_tags.c.tag_id == Tag.id)
            .where(Tag.name == filters.tag)
        )
    if filters.text:
        matching = select(Message.conversation_id).where(
            func.lower(Message.text).contains(filters.text.lower(), autoescape=True)
        )
        conditions.append(Conversation.id.in_(matching))
    return conditions


class ConversationLog:
    """The conversation log's database as the console uses it: one short session per call."""

    def __init__(self, engine: Engine, *, scrypt_n: int = auth.SCRYPT_N) -> None:
        """`scrypt_n` below auth.SCRYPT_N is for tests only (hashing at 2^17 takes ~0.5 s)."""
        self.engine = engine
        self.scrypt_n = scrypt_n
        self._sessions = sessionmaker(engine, future=True, expire_on_commit=False)

    def create_tables(self) -> None:
        """Bring the database to the latest schema, the console's tables included."""
        create_tables(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    # --- trainers ------------------------------------------------------------------------

    def set_trainer(self, username: str, password: str, *, reset: bool = False) -> bool:
        with self.session() as session:
            return auth.set_trainer(session, username, password, reset=reset, n=self.scrypt_n)

    def log_in(
        self, username: str, password: str, secret: str, address: str = "unknown"
    ) -> auth.LoginResult:
        """A signed session cookie for a right username and password, unless throttled.

        Each step is its own transaction: scrypt (~0.5 s) never runs while the database is
        locked, and a throttled attempt never reaches it.
        """
        with self.session() as session:
            attempt, wait = auth.begin_attempt(session, username, address)
            found = None if attempt is None else auth.stored_hash(session, username)
        if attempt is None:
            return auth.LoginResult(None, retry_after=wait)
        right = auth.check_password(found, password, self.scrypt_n)
        rehashed = None
        if right and found and auth.needs_rehash(found[1], self.scrypt_n):
            rehashed = auth.hash_password(password, n=self.scrypt_n)
        with self.session() as session:
            auth.end_attempt(session, attempt, right)
            if not right or found is None:
                return auth.LoginResult(None)
            if rehashed:
                auth.set_hash(session, found[0], rehashed)
            return auth.LoginResult(auth.start_session(session, found[0], secret))

    def login_attempts(self, limit: int = 200) -> list[review_models.LoginAttempt]:
        with self.session() as session:
            return auth.recent_attempts(session, limit)

    def signed_in(self, cookie: str | None, secret: str) -> auth.SignedIn | None:
        with self.session() as session:
            return auth.signed_in(session, cookie, secret)

    def log_out(self, token_hash: str) -> None:
        with self.session() as session:
            auth.end_session(session, token_hash)

    # --- listing ---------------------------------------------------------------------------

    def conversations(self, filters: Filters, page: int = 1, per_page: int = PER_PAGE) -> Page:
        conditions = _conditions(filters)
        with self.session() as session:
            total = session.execute(
                select(func.count()).select_from(Conversation).where(*conditions)
            ).scalar_one()
            pages = max(1, math.ceil(total / per_page))
            page = min(max(1, page), pages)
            found = (
                session.execute(
                    select(Conversation)
                    .where(*conditions)
                    .order_by(Conversation.last_at.desc(), Conversation.id.desc())
                    .limit(per_page)
                    .offset((page - 1) * per_page)
                )
                .scalars()
                .all()
            )
            tags = self._tags_of(session, [c.id for c in found])
            rows = [_row(c, tags.get(c.id, ())) for c in found]
        return Page(rows=rows, total=total, page=page, pages=pages)

    @staticmethod
    def _tags_of(session: Session, ids: list[int]) -> dict[int, tuple[str, ...]]:
        if not ids:
            return {}
        pairs = session.execute(
            select(conversation_tags.c.conversation_id, Tag.name)
            .join(Tag, Tag.id == conversation_tags.c.tag_id)
            .where(conversation_tags.c.conversation_id.in_(ids))
            .order_by(Tag.name)
        ).all()
        found: dict[int, tuple[str, ...]] = {}
        for conversation_id, name in pairs:
            found[conversation_id] = (*found.get(conversation_id, ()), name)
        return found

    def channels(self) -> list[str]:
        with self.session() as session:
            return list(
                session.execute(
                    select(Conversation.channel)
                    .where(Conversation.channel.is_not(None))
                    .distinct()
                    .order_by(Conversation.channel)
                ).scalars()
            )

    def tag_names(self) -> list[str]:
        with self.session() as session:
            return list(session.execute(select(Tag.name).order_by(Tag.name)).scalars())

    # --- one conversation ----------------------------------------------------------------

    def conversation(self, conversation_id: int) -> ConversationRow:
        with self.session() as session:
            found = session.get(Conversation, conversation_id)
            if found is None:
                raise NotFound(conversation_id)
            return _row(found, self._tags_of(session, [found.id]).get(found.id, ()))

    def transcript(self, conversation_id: int) -> Transcript:
        with self.session() as session:
            found = session.get(Conversation, conversation_id)
            if found is None:
                raise NotFound(conversation_id)
            row = _row(found, self._tags_of(session, [found.id]).get(found.id, ()))
            messages = {
                m.event_id: _message_row(m)
                for m in session.execute(
                    select(Message).where(Message.conversation_id == found.id)
                ).scalars()
            }
            events = session.execute(
                select(EVENTS.c.id, EVENTS.c.data)
                .where(EVENTS.c.sender_id == found.sender_id)
                .order_by(EVENTS.c.id)
            ).all()
        return Transcript(row, [t for t in (_turn(i, d, messages) for i, d in events) if t])

    def set_reviewed(self, conversation_id: int, reviewed: bool, by: str) -> None:
        with self.session() as session:
            values: dict[str, Any] = {
                "reviewed": reviewed,
                "reviewed_by": by if reviewed else None,
                "reviewed_at": utcnow() if reviewed else None,
            }
            self._update(session, conversation_id, values)

    def set_note(self, conversation_id: int, note: str) -> None:
        with self.session() as session:
            self._update(session, conversation_id, {"note": note.strip()[:5000]})

    @staticmethod
    def _update(session: Session, conversation_id: int, values: dict[str, Any]) -> None:
        done = session.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(**values)
        )
        if done.rowcount == 0:
            raise NotFound(conversation_id)

    def add_tag(self, conversation_id: int, name: str) -> str:
        name = " ".join(name.lower().split())
        if not TAG_PATTERN.match(name):
            raise ValueError(
                "a tag is 1 to 60 lower-case letters, digits, spaces, dashes or underscores"
            )
        with self.session() as session:
            if session.get(Conversation, conversation_id) is None:
                raise NotFound(conversation_id)
            tag = session.execute(select(Tag).where(Tag.name == name)).scalar_one_or_none()
            if tag is None:
                tag = Tag(name=name)
                session.add(tag)
                session.flush()
            already = session.execute(
                select(conversation_tags).where(
                    conversation_tags.c.conversation_id == conversation_id,
                    conversation_tags.c.tag_id == tag.id,
                )
            ).first()
            if already is None:
                session.execute(
                    conversation_tags.insert().values(
                        conversation_id=conversation_id, tag_id=tag.id
                    )
                )
        return name

    def remove_tag(self, conversation_id: int, name: str) -> None:
        with self.session() as session:
            tag_id = session.execute(select(Tag.id).where(Tag.name == name)).scalar()
            if tag_id is not None:
                session.execute(
                    delete(conversation_tags).where(
                        conversation_tags.c.conversation_id == conversation_id,
                        conversation_tags.c.tag_id == tag_id,
                    )
                )

    def set_label(self, message_id: int, label: str | None, by: str) -> int:
        """Label a user message with the right intent (None clears); returns its conversation."""
        with self.session() as session:
            message = session.get(Message, message_id)
            if message is None:
                raise NotFound(message_id)
            message.label = label
            message.labelled_by = by if label else None
            message.labelled_at = utcnow() if label else None
            return int(message.conversation_id)

    def labelled(self) -> list[Labelled]:
        """Every labelled message typed by a user (button presses are not examples)."""
        with self.session() as session:
            rows = session.execute(
                select(Message.text, Message.label, Conversation.sender_id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Message.label.is_not(None), Message.payload.is_(False))
                .order_by(Message.label, Message.id)
            ).all()
        return [Labelled(text, label, sender) for text, label, sender in rows]

    # --- dashboard -------------------------------------------------------------------------

    def stats(self, date_from: date, date_to: date, top: int = 10) -> Stats:
        in_range = and_(
            Conversation.message_count > 0,
            Conversation.day >= date_from,
            Conversation.day <= date_to,
        )
        fallback_count = func.sum(case((Conversation.fallback.is_(True), 1), else_=0))
        with self.session() as session:
            per_day = {
                day if isinstance(day, date) else date.fromisoformat(str(day)): (n, f)
                for day, n, f in session.execute(
                    select(Conversation.day, func.count(), fallback_count)
                    .where(in_range)
                    .group_by(Conversation.day)
                )
            }
            totals = session.execute(
                select(
                    func.count(),
                    fallback_count,
                    func.sum(Conversation.helpful_count),
                    func.sum(Conversation.not_helpful_count),
                ).where(in_range)
            ).one()
            intent = func.coalesce(Message.intent, "(none)")
            top_intents = session.execute(
                select(intent, func.count())
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(in_range, Message.payload.is_(False))
                .group_by(intent)
                .order_by(func.count().desc(), intent)
                .limit(top)
            ).all()
        days = []
        current = date_from
        while current <= date_to:
            n, f = per_day.get(current, (0, 0))
            days.append((current, int(n), int(f or 0)))
            current += timedelta(days=1)
        return Stats(
            days=days,
            conversations=int(totals[0] or 0),
            with_fallback=int(totals[1] or 0),
            top_intents=[(str(name), int(n)) for name, n in top_intents],
            helpful=int(totals[2] or 0),
            not_helpful=int(totals[3] or 0),
        )

    # --- unanswered messages and content gaps ----------------------------------------------

    def unanswered(
        self, date_from: date, date_to: date, *, handled: bool = True
    ) -> list[Unanswered]:
        """Typed messages the assistant could not answer, sent in the range of days.

        A message counts when the next thing the assistant did was a fallback, "the page
        doesn't cover it" or "out of scope", or when the answer to it was rated not helpful.
        `handled=False` leaves out those a trainer has labelled or put in a content gap.
        """
        start, end = day_bounds(date_from, date_to)
        # The user message an action answered: the conversation's last one before it.
        before = (
            select(func.max(Message.event_id))
            .where(Message.conversation_id == Conversation.id, Message.event_id < EVENTS.c.id)
            .correlate(Conversation, EVENTS)
            .scalar_subquery()
        )
        columns = (
            Message.id,
            Message.conversation_id,
            Message.text,
            Message.sent_at,
            Message.label,
            GapMessage.gap_id,
        )
        by_action = (
            select(*columns, EVENTS.c.action_name)
            .select_from(EVENTS)
            .join(Conversation, Conversation.sender_id == EVENTS.c.sender_id)
            .join(
                Message,
                and_(Message.conversation_id == Conversation.id, Message.event_id == before),
            )
            .outerjoin(GapMessage, GapMessage.message_id == Message.id)
            .where(
                EVENTS.c.type_name == "action",
                EVENTS.c.action_name.in_(sorted(UNANSWERED_ACTIONS)),
                EVENTS.c.timestamp >= start.replace(tzinfo=timezone.utc).timestamp(),
                EVENTS.c.timestamp < end.replace(tzinfo=timezone.utc).timestamp(),
                Message.payload.is_(False),
            )
        )
        rated = (
            select(*columns)
            .outerjoin(GapMessage, GapMessage.message_id == Message.id)
            .where(
                Message.feedback == NOT_HELPFUL,
                Message.payload.is_(False),
                Message.sent_at >= start,
                Message.sent_at < end,
            )
        )
        found: dict[int, tuple[Any, set[str]]] = {}
        with self.session() as session:
            for *row, action in session.execute(by_action):
                found.setdefault(row[0], (row, set()))[1].add(UNANSWERED_ACTIONS[action])
            for row in session.execute(rated):
                found.setdefault(row[0], (tuple(row), set()))[1].add("not_helpful")
        messages = [
            Unanswered(
                id=row[0],
                conversation_id=row[1],
                text=row[2],
                sent_at=row[3],
                label=row[4],
                gap_id=row[5],
                reasons=frozenset(reasons),
            )
            for row, reasons in found.values()
            if start <= row[3] < end
        ]
        if not handled:
            messages = [m for m in messages if m.label is None and m.gap_id is None]
        return sorted(messages, key=lambda m: m.id)

    def typed_messages(self, date_from: date, date_to: date) -> int:
        """How many messages people typed in the range (button presses not counted)."""
        start, end = day_bounds(date_from, date_to)
        with self.session() as session:
            return int(
                session.execute(
                    select(func.count())
                    .select_from(Message)
                    .where(
                        Message.payload.is_(False), Message.sent_at >= start, Message.sent_at < end
                    )
                ).scalar_one()
            )

    def label_messages(self, message_ids: list[int], label: str | None, by: str) -> int:
        """Label typed messages (a group of them) with an intent; returns how many."""
        ids = sorted(set(message_ids))[:MAX_GROUP_MESSAGES]
        with self.session() as session:
            done = session.execute(
                update(Message)
                .where(Message.id.in_(ids), Message.payload.is_(False))
                .values(
                    label=label,
                    labelled_by=by if label else None,
                    labelled_at=utcnow() if label else None,
                )
                .execution_options(synchronize_session=False)
            )
            return int(done.rowcount)

    def mark_gap(
        self, message_ids: list[int], by: str, *, note: str = "", gap_id: int | None = None
    ) -> int:
        """Put typed messages in a content gap: a new one with `note`, or gap `gap_id`.

        A message is in one gap at most: it moves if it was in another. Returns the gap's id.
        """
        note = note.strip()[:GAP_NOTE_MAX]
        with self.session() as session:
            ids = list(
                session.execute(
                    select(Message.id).where(
                        Message.id.in_(sorted(set(message_ids))[:MAX_GROUP_MESSAGES]),
                        Message.payload.is_(False),
                    )
                ).scalars()
            )
            if not ids:
                raise ValueError("none of these messages is in the log")
            if gap_id is None:
                if not note:
                    raise ValueError("a new content gap needs a note saying what is missing")
                gap = ContentGap(note=note, created_by=by, created_at=utcnow())
                session.add(gap)
                session.flush()
                gap_id = int(gap.id)
            elif session.get(ContentGap, gap_id) is None:
                raise NotFound(gap_id)
            session.execute(delete(GapMessage).where(GapMessage.message_id.in_(ids)))
            session.add_all(GapMessage(message_id=i, gap_id=gap_id) for i in ids)
        return gap_id

    def delete_gap(self, gap_id: int) -> None:
        with self.session() as session:
            session.execute(delete(GapMessage).where(GapMessage.gap_id == gap_id))
            if session.execute(delete(ContentGap).where(ContentGap.id == gap_id)).rowcount == 0:
                raise NotFound(gap_id)

    def gaps(self, date_from: date | None = None, date_to: date | None = None) -> list[Gap]:
        """Every content gap, the most asked first; counts only messages in the range if given."""
        conditions: list[Any] = []
        if date_from is not None and date_to is not None:
            start, end = day_bounds(date_from, date_to)
            conditions = [Message.sent_at >= start, Message.sent_at < end]
        with self.session() as session:
            gaps = session.execute(select(ContentGap).order_by(ContentGap.id)).scalars().all()
            rows = session.execute(
                select(GapMessage.gap_id, Message.text, Message.sent_at)
                .join(Message, Message.id == GapMessage.message_id)
                .where(*conditions)
                .order_by(Message.sent_at.desc())
            ).all()
        texts: dict[int, list[tuple[str, datetime]]] = {}
        for gap_id, said, sent_at in rows:
            texts.setdefault(gap_id, []).append((said, sent_at))
        found = []
        for gap in gaps:
            asked = texts.get(gap.id, [])
            examples: list[str] = []
            for said, _ in asked:
                if said not in examples and len(examples) < 5:
                    examples.append(said)
            found.append(
                Gap(
                    id=gap.id,
                    note=gap.note,
                    created_by=gap.created_by,
                    created_at=gap.created_at,
                    count=len(asked),
                    first=min((t for _, t in asked), default=None),
                    last=max((t for _, t in asked), default=None),
                    examples=examples,
                )
            )
        return sorted(found, key=lambda g: (-g.count, g.id))

    def reindex(self) -> int:
        with self.session() as session:
            return reindex(session, EVENTS)

    # --- erasure and the audit trail -------------------------------------------------------

    def erase(self, conversation_id: int, by: str, via: str = "console") -> tuple[str, Removed]:
        """Erase a conversation (bot.tracking.retention) on request; its pseudonym and what
        went. Recorded in the audit trail."""
        with retention.writing(self.engine) as session:
            sender = session.execute(
                select(Conversation.sender_id).where(Conversation.id == conversation_id)
            ).scalar()
            if sender is None:
                raise NotFound(conversation_id)
            return sender, retention.erase_conversation(session, sender, actor=by, via=via)

    def measure(self, conversation_id: int) -> Removed:
        """What erasing the conversation would remove (for the confirmation page)."""
        with self.session() as session:
            sender = session.execute(
                select(Conversation.sender_id).where(Conversation.id == conversation_id)
            ).scalar()
            if sender is None:
                raise NotFound(conversation_id)
            return retention.measure(session, [sender])

    def record(
        self,
        action: str,
        by: str,
        *,
        via: str = "console",
        conversation: str | None = None,
        detail: str = "",
    ) -> None:
        """Record a trainer's access: a transcript opened, an export made (never the content)."""
        with self.session() as session:
            retention.record(
                session, action, actor=by, via=via, conversation=conversation, detail=detail
            )

    def audit(
        self, action: str | None = None, page: int = 1, per_page: int = AUDIT_PER_PAGE
    ) -> AuditPage:
        """The audit trail, newest first; only `action` entries if given."""
        conditions = [AuditEntry.action == action] if action else []
        with self.session() as session:
            total = session.execute(
                select(func.count()).select_from(AuditEntry).where(*conditions)
            ).scalar_one()
            pages = max(1, math.ceil(total / per_page))
            page = min(max(1, page), pages)
            found = session.execute(
                select(AuditEntry)
                .where(*conditions)
                .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).scalars()
            rows = [
                AuditRow(
                    at=e.at,
                    action=e.action,
                    actor=e.actor,
                    via=e.via,
                    conversation=e.conversation,
                    events=e.events,
                    conversations=e.conversations,
                    detail=e.detail,
                )
                for e in found
            ]
        return AuditPage(rows=rows, total=total, page=page, pages=pages)


def _turn(event_id: int, raw: str, messages: dict[int, MessageRow]) -> Turn | None:
    data = json.loads(raw)
    kind = data.get("event")
    moment = as_stored(datetime.fromtimestamp(data.get("timestamp") or 0, timezone.utc))
    if kind == "user":
        message = messages.get(event_id)
        return Turn("user", moment, text=data.get("text") or "", message=message)
    if kind == "bot":
        buttons = tuple(
            str(b.get("title", "")) for b in (data.get("data") or {}).get("buttons") or []
        )
        return Turn("bot", moment, text=data.get("text") or "", buttons=buttons)
    if kind == "action" and data.get("name") not in (None, "action_listen"):
        return Turn("action", moment, name=data["name"])
    if kind == "slot":
        return Turn("slot", moment, name=data.get("name") or "", text=str(data.get("value")))
    if kind == "session_started":
        return Turn("session", moment, name="session started")
    return None
