"""A Rasa graph component: what each question of a message asks (bot/questions.py splits them).

DIET gives a message one intent. A message of two questions ("what do they do and how do I
apply?") needs one per question, and a long message needs the intent of its question, not of
the paragraph before it ("I've worked in a warehouse for years... can I train on the job?").
This component classifies each question on its own with a softmax regression over
all-MiniLM-L6-v2 sentence vectors, trained on the same examples as DIET, and:

- adds a `question` entity per question (value: its intent, DIET's for the message when this
  classifier is unsure of the question; start and end: where it is), which action_answer_topic
  answers one by one when they ask different topics, and fact by fact when they ask one;
- for a long message, or one DIET could not place (nlu_fallback), sets the intent to its first
  question's when that classification is confident.

It never decides an emergency: that is bot.safety.SafetyGate's alone, and a message it has
marked is left as it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_RANKING_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components import SavedModelClassifier
from bot.embeddings import get_encoder
from bot.questions import QUESTION, is_long, split_questions
from bot.safety import EMERGENCY_INTENT

WEIGHTS_FILE = "parts.npz"
FALLBACK_INTENT = "nlu_fallback"
# Intents a question of a message may be given: what a person asks, not what they say.
# What a role's name becomes before encoding: the vector then says what is asked, not which role
# (5-fold accuracy on the training examples, 1,500 epochs: 85.9% unmasked, 87.6% masked).
ROLE_STAND_IN = "this job"
NOT_A_QUESTION = frozenset({EMERGENCY_INTENT, "affirm", "deny", "greet", "goodbye", "thank"})


class PartsModel:
    """Softmax regression over unit sentence vectors, trained with plain gradient descent."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, intents: list[str]) -> None:
        self.weights, self.bias, self.intents = weights, bias, intents

    @classmethod
    def fit(
        cls, vectors: np.ndarray, labels: list[str], epochs: int = 1500, rate: float = 8.0
    ) -> PartsModel:
        intents = sorted(set(labels))
        index = {name: i for i, name in enumerate(intents)}
        target = np.zeros((len(labels), len(intents)))
        target[np.arange(len(labels)), [index[name] for name in labels]] = 1.0
        # Balanced classes: an intent with few examples weighs as much as one with many.
        counts = target.sum(0)
        sample = (len(labels) / (len(intents) * counts))[[index[name] for name in labels]]
        weights = np.zeros((vectors.shape[1], len(intents)))
        bias = np.zeros(len(intents))
        decay = 1e-4
        for _ in range(epochs):
            p = _softmax(vectors @ weights + bias)
            error = (p - target) * sample[:, None]
            weights -= rate * (vectors.T @ error / len(labels) + decay * weights)
            bias -= rate * error.mean(0)
        return cls(weights.astype(np.float32), bias.astype(np.float32), intents)

    def classify(self, vectors: np.ndarray) -> list[tuple[str, float]]:
        """The most likely intent of each vector and its probability."""
        p = _softmax(vectors.astype(np.float64) @ self.weights + self.bias)
        best = p.argmax(1)
        return [(self.intents[int(i)], float(p[row, i])) for row, i in enumerate(best)]


def masked_roles(message: Message, start: int, end: int) -> str:
    """message's text from start to end, each role the spaCy pipeline found in it replaced."""
    text = str(message.get(TEXT))
    doc = message.get(SPACY_DOCS[TEXT])
    spans = [
        (e.start_char, e.end_char)
        for e in (doc.ents if doc is not None else ())
        if e.label_ == "role" and start <= e.start_char and e.end_char <= end
    ]
    pieces, at = [], start
    for first, last in spans:
        pieces += [text[at:first], ROLE_STAND_IN]
        at = last
    return "".join([*pieces, text[at:end]])


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(1, keepdims=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class QuestionParts(SavedModelClassifier[PartsModel]):
    """Classifies each question of a message; see the module docstring."""

    WEIGHTS_FILE = WEIGHTS_FILE

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # part_threshold: a question's own intent counts above this; override_threshold: it
        # replaces DIET's intent for a long or unplaced message above this.
        # At 0.5, 94% of the training examples' 5-fold classifications were right (80% reached it).
        return {"part_threshold": 0.4, "override_threshold": 0.5, "epochs": 1500}

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        texts = [masked_roles(m, 0, len(m.get(TEXT))) for m in examples]
        vectors = get_encoder().encode_many(texts)
        labels = [str(m.get(INTENT)) for m in examples]
        self.model = PartsModel.fit(vectors.astype(np.float64), labels, int(self.config["epochs"]))
        return self.save(
            weights=self.model.weights, bias=self.model.bias, intents=np.array(self.model.intents)
        )

    @classmethod
    def model_from(cls, arrays: dict[str, np.ndarray]) -> PartsModel:
        return PartsModel(arrays["weights"], arrays["bias"], [str(i) for i in arrays["intents"]])

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            intent = (message.get(INTENT) or {}).get("name")
            if self.model is None or not text or text.startswith("/") or intent == EMERGENCY_INTENT:
                continue
            self._classify_parts(message, text, intent)
        return messages

    def _classify_parts(self, message: Message, text: str, intent: str | None) -> None:
        assert self.model is not None
        parts = split_questions(text)
        long = is_long(text)
        whole = len(parts) == 1 and parts[0].text == text.strip()
        if not parts or (whole and intent != FALLBACK_INTENT):
            return
        vectors = get_encoder().encode_many([masked_roles(message, p.start, p.end) for p in parts])
        threshold = float(self.config["part_threshold"])
        diet = intent if intent not in NOT_A_QUESTION and intent != FALLBACK_INTENT else None
        found = []
        for part, (name, p) in zip(parts, self.model.classify(vectors), strict=True):
            if name not in NOT_A_QUESTION and p >= threshold:
                found.append((part, name, p))
            elif diet is not None and not whole:
                # Unsure of this question alone: the message's intent, as DIET read it.
                found.append((part, diet, 0.0))
        if not found:
            return
        entities = list(message.get(ENTITIES) or [])
        for part, name, p in found:
            entities.append(
                {
                    "entity": QUESTION,
                    "value": name,
                    "start": part.start,
                    "end": part.end,
                    "confidence_entity": round(p, 3),
                    "extractor": type(self).__name__,
                }
            )
        message.set(ENTITIES, entities, add_to_output=True)
        _, name, p = found[0]
        if (long or intent == FALLBACK_INTENT) and p >= float(self.config["override_threshold"]):
            top = {"name": name, "confidence": p}
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
            message.set(INTENT, top, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)
