"""What the registry knows, in the conversation log's database, and where the model files are.

Three tables (made and changed by bot/migrations, like the log's own):

- `model_versions`: every candidate (training, failed, ready), the model each promotion made
  live and the ones it replaced (kept for rollback), with the training's progress and the
  comparison with the live model that promotion is judged by;
- `model_promotions`: who promoted (or rolled back) what, when, and what each instance said;
- `rasa_instances`: the running Rasa servers, each registered by itself at start
  (bot.registry.instances), so a promotion reaches every one of them.

The files (MODELS_DIR, default models/): `careers.tar.gz` is the live model, what every Rasa
starts with and what `make train` fine-tunes; `registry/<id>.tar.gz` and `<id>.fingerprint`
are each candidate and each model a promotion replaced; `registry/<id>/` holds a candidate's
training data from the console, its logs and the comparison's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Float, Integer, String, Text, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import declarative_base

from bot.db import make_engine, utcnow
from bot.settings import Settings
from bot.tracking.database import LogDatabase
from bot.tracking.models import Message
from bot.training import MODEL_NAME

# SQLAlchemy 1.4 has no typed declarative base; mypy sees Any rather than a bogus class.
Base: Any = declarative_base()

TRAINING, FAILED, READY, LIVE, RETIRED = "training", "failed", "ready", "live", "retired"
RUNNING, DONE = "running", "done"
PROMOTE, ROLLBACK = "promote", "rollback"


class ModelVersion(Base):
    __tablename__ = "model_versions"

    id = Column(String(40), primary_key=True)
    # "candidate" (python -m bot model candidate) or "trained" (make train's model, taken
    # into the registry when a promotion replaced it).
    origin = Column(String(20), nullable=False)
    status = Column(String(20), nullable=False, index=True)
    created_by = Column(String(100), nullable=False)
    created_at = Column(DateTime, nullable=False)
    finished_at = Column(DateTime)
    # The live model a fine-tuned candidate started from (None: trained from scratch).
    finetuned_from = Column(String(40))
    # The console's labels it was trained with, and how many were new since the last promotion.
    labels = Column(Integer, nullable=False, default=0)
    new_labels = Column(Integer, nullable=False, default=0)
    stage = Column(String(200), nullable=False, default="")
    progress = Column(Float)
    # The training process (a candidate still "training" whose process is gone has failed).
    pid = Column(Integer)
    host = Column(String(255))
    error = Column(Text)
    sha256 = Column(String(64))
    # The comparison with the live model (bot.registry.compare), as JSON.
    compare_status = Column(String(20))
    compare_stage = Column(String(200), nullable=False, default="")
    compare_pid = Column(Integer)
    compared_at = Column(DateTime)
    compared_by = Column(String(100))
    # The live model's id, or the SHA-256 of make train's model (not in the registry).
    compared_with = Column(String(64))
    comparison = Column(Text)
    promotable = Column(Boolean)
    compare_error = Column(Text)


class Promotion(Base):
    __tablename__ = "model_promotions"

    id = Column(Integer, primary_key=True)
    action = Column(String(20), nullable=False)
    model_id = Column(String(40), nullable=False)
    previous_id = Column(String(40))
    by = Column(String(100), nullable=False)
    started_at = Column(DateTime, nullable=False, index=True)
    finished_at = Column(DateTime)
    status = Column(String(20), nullable=False)
    # What happened on each instance, or why it failed.
    detail = Column(Text, nullable=False, default="")


class RasaInstance(Base):
    __tablename__ = "rasa_instances"

    id = Column(Integer, primary_key=True)
    # Where the instance's HTTP API is reached from inside (a loopback address here).
    url = Column(String(255), nullable=False)
    host = Column(String(255), nullable=False)
    pid = Column(Integer, nullable=False)
    # Whether its HTTP API is on (RASA_API_TOKEN): one that is off cannot be switched.
    api = Column(Boolean, nullable=False)
    started_at = Column(DateTime, nullable=False)
    model = Column(String(255), nullable=False, default="")


@dataclass(frozen=True)
class ModelRecord:
    id: str
    origin: str
    status: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    finetuned_from: str | None
    labels: int
    new_labels: int
    stage: str
    progress: float | None
    pid: int | None
    host: str | None
    error: str | None
    sha256: str | None
    compare_status: str | None
    compare_stage: str
    compare_pid: int | None
    compared_at: datetime | None
    compared_by: str | None
    compared_with: str | None
    comparison: str | None
    promotable: bool | None
    compare_error: str | None

    def comparison_data(self) -> dict[str, Any] | None:
        return json.loads(self.comparison) if self.comparison else None

    @property
    def refusals(self) -> list[str]:
        data = self.comparison_data()
        return list(data.get("refusals", [])) if data else []


@dataclass(frozen=True)
class PromotionRecord:
    id: int
    action: str
    model_id: str
    previous_id: str | None
    by: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    detail: str


@dataclass(frozen=True)
class InstanceRecord:
    id: int
    url: str
    host: str
    pid: int
    api: bool
    started_at: datetime
    model: str


def _record(kind: type[Any], row: Any) -> Any:
    return kind(**{f.name: getattr(row, f.name) for f in fields(kind)})


@dataclass(frozen=True)
class Paths:
    """Where the model files are (MODELS_DIR)."""

    models_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> Paths:
        return cls(settings.models_dir)

    @property
    def live(self) -> Path:
        return self.models_dir / f"{MODEL_NAME}.tar.gz"

    @property
    def live_fingerprint(self) -> Path:
        return self.models_dir / f"{MODEL_NAME}.fingerprint"

    @property
    def registry(self) -> Path:
        return self.models_dir / "registry"

    @property
    def training_lock(self) -> Path:
        """The lock `make train` takes (bot.training): the live file changes under it only."""
        return self.models_dir / ".train.lock"

    def archive(self, model_id: str) -> Path:
        return self.registry / f"{model_id}.tar.gz"

    def fingerprint(self, model_id: str) -> Path:
        return self.registry / f"{model_id}.fingerprint"

    def workdir(self, model_id: str) -> Path:
        return self.registry / model_id


_digests: dict[tuple[str, int, int], str] = {}


def sha256(path: Path) -> str | None:
    """The file's SHA-256 (remembered while its size and time are unchanged); None if missing."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        digest = hashlib.sha256()
        with path.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
        _digests[key] = digest.hexdigest()
    return _digests[key]


@dataclass(frozen=True)
class Live:
    """The live model: its registry id (None for a `make train` model not yet in the
    registry), its file, and the promotion that made it live, if one did."""

    id: str | None
    path: Path
    sha256: str | None
    switch: PromotionRecord | None

    @property
    def name(self) -> str:
        return self.id or f"{self.path.name} (make train)"


class Registry(LogDatabase):
    """The registry's tables as the commands and the console use them: one session per call."""

    def __init__(self, engine: Engine, paths: Paths) -> None:
        super().__init__(engine)
        self.paths = paths

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        return cls(make_engine(settings.tracker_store_url), Paths.from_settings(settings))

    # --- models ----------------------------------------------------------------------------

    def models(self) -> list[ModelRecord]:
        with self.session() as session:
            rows = session.execute(
                select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.id)
            ).scalars()
            return [_record(ModelRecord, r) for r in rows]

    def model(self, model_id: str) -> ModelRecord | None:
        with self.session() as session:
            row = session.get(ModelVersion, model_id)
            return None if row is None else _record(ModelRecord, row)

    def add_model(self, model_id: str, **values: Any) -> None:
        with self.session() as session:
            session.add(ModelVersion(id=model_id, created_at=utcnow(), **values))

    def update_model(self, model_id: str, **values: Any) -> None:
        with self.session() as session:
            row = session.get(ModelVersion, model_id)
            if row is None:
                raise LookupError(model_id)
            for name, value in values.items():
                setattr(row, name, value)

    def training(self) -> ModelRecord | None:
        """The candidate being trained, if one is."""
        with self.session() as session:
            row = session.execute(
                select(ModelVersion).where(ModelVersion.status == TRAINING).limit(1)
            ).scalar()
            return None if row is None else _record(ModelRecord, row)

    # --- the live model and promotions -----------------------------------------------------

    def live(self) -> Live:
        """What careers.tar.gz is: the registered model with its digest, or make train's."""
        digest = sha256(self.paths.live)
        with self.session() as session:
            row = session.execute(
                select(ModelVersion).where(
                    ModelVersion.status == LIVE, ModelVersion.sha256 == digest
                )
            ).scalar()
            switch = session.execute(
                select(Promotion)
                .where(Promotion.status == DONE)
                .order_by(Promotion.id.desc())
                .limit(1)
            ).scalar()
            done = _record(PromotionRecord, switch) if switch is not None else None
        if row is None:
            return Live(None, self.paths.live, digest, None)
        made_live = done if done is not None and done.model_id == row.id else None
        return Live(row.id, self.paths.live, digest, made_live)

    def rollback_target(self) -> str | None:
        """The model the live one replaced, when a promotion (or rollback) made it live."""
        live = self.live()
        if live.switch is None:
            return None
        return live.switch.previous_id

    def start_switch(self, action: str, model_id: str, previous_id: str | None, by: str) -> int:
        with self.session() as session:
            row = Promotion(
                action=action,
                model_id=model_id,
                previous_id=previous_id,
                by=by,
                started_at=utcnow(),
                status=RUNNING,
                detail="",
            )
            session.add(row)
            session.flush()
            return int(row.id)

    def finish_switch(self, switch_id: int, status: str, detail: str) -> None:
        with self.session() as session:
            row = session.get(Promotion, switch_id)
            row.status, row.detail, row.finished_at = status, detail, utcnow()

    def switches(self, limit: int = 50) -> list[PromotionRecord]:
        with self.session() as session:
            rows = session.execute(
                select(Promotion).order_by(Promotion.id.desc()).limit(limit)
            ).scalars()
            return [_record(PromotionRecord, r) for r in rows]

    def running_switch(self) -> PromotionRecord | None:
        with self.session() as session:
            row = session.execute(
                select(Promotion).where(Promotion.status == RUNNING).limit(1)
            ).scalar()
            return None if row is None else _record(PromotionRecord, row)

    def labels_since_promotion(self) -> int:
        """Messages labelled in the console since the last promotion (all, if none)."""
        with self.session() as session:
            last = session.execute(
                select(func.max(Promotion.finished_at)).where(
                    Promotion.status == DONE, Promotion.action == PROMOTE
                )
            ).scalar()
            conditions = [Message.label.is_not(None), Message.payload.is_(False)]
            if last is not None:
                conditions.append(Message.labelled_at > last)
            return int(
                session.execute(
                    select(func.count()).select_from(Message).where(*conditions)
                ).scalar_one()
            )

    # --- instances -------------------------------------------------------------------------

    def register_instance(self, url: str, host: str, pid: int, api: bool, model: str) -> int:
        with self.session() as session:
            row = RasaInstance(
                url=url, host=host, pid=pid, api=api, model=model, started_at=utcnow()
            )
            session.add(row)
            session.flush()
            return int(row.id)

    def remove_instance(self, instance_id: int) -> None:
        with self.session() as session:
            row = session.get(RasaInstance, instance_id)
            if row is not None:
                session.delete(row)

    def instances(self) -> list[InstanceRecord]:
        with self.session() as session:
            rows = session.execute(select(RasaInstance).order_by(RasaInstance.id)).scalars()
            return [_record(InstanceRecord, r) for r in rows]
