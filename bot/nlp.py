"""Build the spaCy pipeline Rasa's SpacyNLP loads, from the role store.

No downloaded model: a blank English tokenizer, spaCy's lookup lemmatizer (tables from
spacy-lookups-data, installed with the project) and an entity ruler whose patterns are the role
names and terms in the store. It is rebuilt as a step of training, so a role added to the store
is recognised after `make train`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from bot.settings import PROJECT_ROOT
from bot.store import RoleStore

PIPELINE_DIR = PROJECT_ROOT / "models" / "spacy" / "careers_en"
ROLE_LABEL = "role"


def patterns(store: RoleStore) -> list[dict[str, Any]]:
    """Entity ruler patterns: one per wording, matched on lower-cased tokens."""
    import spacy

    tokenizer = spacy.blank("en").tokenizer
    found: list[dict[str, Any]] = []
    for slug, names in store.role_names().items():
        found += [_pattern(tokenizer, ROLE_LABEL, name, slug) for name in names]
    for name, slugs in store.group_names().items():
        found.append(_pattern(tokenizer, ROLE_LABEL, name, "+".join(slugs)))
    for label, names in store.terms().items():
        found += [_pattern(tokenizer, label, name, name.lower()) for name in names]
    return found


def _pattern(tokenizer: Any, label: str, name: str, ident: str) -> dict[str, Any]:
    return {
        "label": label,
        "id": ident,
        "pattern": [{"LOWER": token.lower_} for token in tokenizer(name)],
    }


def build(store: RoleStore, out_dir: Path = PIPELINE_DIR) -> Path:
    """Write the pipeline to `out_dir` (replacing what was there) and return the path."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": True})
    nlp.initialize()
    found = patterns(store)
    ruler.add_patterns(found)  # type: ignore[attr-defined]
    nlp.meta["name"] = "careers_en"
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = "Tokenizer, lookup lemmatizer and role entity ruler (bot.nlp)"
    nlp.meta["patterns_sha1"] = hashlib.sha1(json.dumps(found, sort_keys=True).encode()).hexdigest()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    nlp.to_disk(staging)
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return out_dir
