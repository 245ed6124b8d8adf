"""The safety layer: is someone in danger now? Decided before anything else answers.

A Rasa graph component placed after DIET. It decides on its own, from two signals, whether the
message reports an emergency happening now (to the writer or someone near them):

- a logistic regression over all-MiniLM-L6-v2 sentence vectors, trained at `make train` on the
  `medical_emergency` examples against every other example (data/nlu/safety_negatives.yml
  holds hard careers negatives written for it: patients, procedures, faults, stress, idioms);
- words that name danger now ("not breathing", "collapsed", "overdose"), trusted alone unless
  the message is about the job ("what if a patient faints during a scan?"), and a worry about
  one's own health ("I found a lump"), which gets the same reply for its NHS 111 advice.

When it says emergency, the intent becomes `medical_emergency` with full confidence, whatever
DIET thought; when it says no, `medical_emergency` leaves the ranking, so no careers question
gets the 999 advice and the rest of the pipeline answers as if DIET had never considered it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components import SavedModelClassifier
from bot.embeddings import get_encoder

EMERGENCY_INTENT = "medical_emergency"
WEIGHTS_FILE = "safety.npz"

# Danger now, in the words people use. Alone, an emergency unless the message is a hypothetical
# or about the past, or about the job without saying it is happening now.
DANGER = re.compile(
    r"breath|not responding|(isn'?t|is not) responding|unresponsive|unconscious|slumped|"
    r"won'?t wake|can'?t wake|cant wake|wont wake|cannot wake|can not wake|"
    r"not waking|keep (him|her) awake|overdos|too many|swallowed|drank some|"
    r"ate (some )?(peanuts|nuts)|"
    r"kill (my ?self|himself|herself)|end (it|my life|it all)|ending it|suicid|want to die|"
    r"don'?t want to (be here|live|be alive)|won'?t be here|wont be here|self[- ]?harm|cutting|"
    r"cut (my ?self|himself|herself)|jump(ing)? off|on the (roof|bridge|ledge)|the rope|"
    r"no point (in )?(living|anymore|any more)|don'?t see the point|taken everything|"
    r"(tablets|pills|meds|paracetamol)\b.*\b(taken|took|had|swallowed|on purpose)|"
    r"(taken|took|take|taking|had|swallowed) .*(tablets|pills|meds|paracetamol)|"
    r"bleed|blood everywhere|choking|seizure|having a fit|fitting|shaking all over|foaming|"
    r"stroke|heart attack|chest (pain|hurts|is tight|feels|is squeezing|is heavy)|tight chest|"
    r"pain (in|across|on) (his|her|my|the) chest|crushing pain|clutching (his|her|my) chest|"
    r"collapsed|collapse|passed out|"
    r"fainted|blacked out|keeled over|dropped to the floor|f[ae]ll down|isn'?t getting up|"
    r"(not|doesn'?t|does not|won'?t|will not) wake( up)?|"
    r"not getting up|"
    r"(hit|banged) (his|her|my) head|going (blue|purple|grey)|"
    r"gone (really |very |so |all )?(grey|blue|purple|floppy|pale|limp)|"
    r"turning blue|droop|face (has )?dropped|slurr|speech has gone|"
    r"talk(ing|in'?) (weird|funny|strange|nonsense|gibberish)|anaphyla|allergic reaction|"
    r"epi-?pen|swelling up|throat (is )?(closing|swelling)|ambulance|999|not moving|isn'?t moving|"
    r"burnt(?![- ]out)|burned(?![- ]out)|poison|not making (any )?sense|confused",
    re.IGNORECASE,
)
# A hypothetical, the past or an idiom: danger words here are not an emergency now.
NOT_NOW = re.compile(
    r"\b(what if|what happens (if|when)|if (a|someone|somebody|the) |"
    r"would (i|we|they|you|assistants)|"
    r"do (you|they|assistants|imaging|radiography)|does (an?|the) |as an? (assistant|support|"
    r"imaging|radiography|ap\b)|last (year|month|week|summer|winter|spring|autumn|christmas)|"
    r"once\b|used to|when i was|years ago|"
    r"in the past|dying to|killing me|heart (is )?set|set my heart|can (i|someone|you) still|"
    r"is the (job|work)|radiation)\b",
    re.IGNORECASE,
)
# Words about learning the work: they make danger words a subject, unless the scene is vivid.
LEARNING = re.compile(r"\b(trained|training|first aid|cpr)\b", re.IGNORECASE)
# It happened and it is over: "he's doing well now", "all sorted now".
RECOVERED = re.compile(
    r"\b(doing (well|fine|ok|okay|better|great)|all (sorted|fine|good|better)|"
    r"in a (good|better) place|(fine|better|well) now|recovered|made a (full )?recovery|"
    r"got better|is fine|am fine|i'?m fine)\b",
    re.IGNORECASE,
)
# A scene happening as it is written: an emergency even in talk of the work or its training.
VIVID = re.compile(
    r"blood everywhere|(isn'?t|is not|not) responding to me|slumped over|"
    r"\b(he|she|they)('s| is| are|'re| has| have)( just| now)? (collapsed|fainted|slumped|"
    r"stopped breathing|gone (really |very )?(grey|blue|pale|limp|floppy)|turned blue|"
    r"passed out|choking|clutching|not breathing|unconscious)|"
    r"\b(he|she|they) (can'?t|cannot|can barely) (breathe|talk|speak|stand)|"
    r"\bcan'?t find (the|a|any) (nurse|doctor)|\b(is|'s) choking|"
    r"clutching (his|her|their|my) (chest|throat)|can barely (breathe|talk|speak)",
    re.IGNORECASE,
)
# Talk of the work: danger words need a sign that it is happening now.
JOB_CONTEXT = re.compile(
    r"\b(patients?|scans?|x-?rays?|during|the job|this job|the role|on (a|my|the) shift|course|"
    r"career|apply|applying|become|department|procedure|deal with|handle)\b",
    re.IGNORECASE,
)
# Harm to oneself: an emergency whatever else the message talks about, unless hypothetical.
SELF_HARM = re.compile(
    r"kill (my ?self|himself|herself)|end (it|my life|it all)|ending it|suicid|want to die|"
    r"don'?t want to (be here|live|be alive)|won'?t be here|wont be here|self[- ]?harm|"
    r"cut (my ?self|himself|herself)|(cut|cuts) on my (wrist|arm|leg)|my wrists?|on purpose|"
    r"taken everything|the rope|on the (roof|bridge|ledge)|no point (in )?(living|anymore)|"
    r"don'?t see the point|last message",
    re.IGNORECASE,
)
# Self-harm as a subject of the work or a question about eligibility, not a person at risk now.
SELF_HARM_TALK = re.compile(
    r"\b(patients?|staff|the role|assistant'?s role|part of (the|an?)|what if|what happens|"
    r"would (i|they)|"
    r"can (i|someone|you) still|in the past|years ago|used to)\b",
    re.IGNORECASE,
)
# A worry about one's own or a relative's health, not the job's: NHS 111 (the same reply).
HEALTH_WORRY = re.compile(
    r"found a lump|\ba lump (in|on)\b|should i (get|have) (a |an )?(scan|x-?ray|mri|ct|checked|"
    r"tested|seen)|(dangerous|safe|harmful|risky|bad) (for me |for the baby )?(to have|having) "
    r"(an? )?(x-?ray|scan|ct|mri)|(have|having|had|get|getting) (an? )?(x-?ray|scan|ct|mri)s? "
    r"(when|while|if) (you'?re|i'?m|she'?s|i am|you are) pregnant|"
    r"\b(my|i've got|i have) (symptoms|results)\b.{0,30}\b(worried|scared|mean)|"
    r"\bi (feel|felt|am feeling|'m feeling|'ve been feeling) (really |very |so )?"
    r"(unwell|ill|sick|dizzy|faint)\b",
    re.IGNORECASE,
)
# Nerves about the application or the interview ("so nervous I feel sick"), not illness.
NERVES = re.compile(r"\b(nervous|anxious|nerves|interview|thinking about it)\b", re.IGNORECASE)
# Someone the message is about: the writer, a person near them. An emergency happens to
# someone, so the vectors alone do not call one where nobody is named.
SOMEONE = re.compile(
    r"\b(i|i'?m|im|i'?ve|ive|me|my|mine|we|us|our|he|she|his|her|him|hes|shes|they|them|their|"
    r"someone|somebody|anyone|man|woman|lady|guy|girl|boy|child|kid|baby|toddler|newborn|"
    r"people|person)\b",
    re.IGNORECASE,
)
NOW = re.compile(
    r"\b(just(?! (curious|wondering|asking|a question|checking|thinking|want|wanted|interested))|"
    r"right now|now|has gone|is going|what (do|should|shall|can) (i|we) do|"
    r"hurry|quick|urgent|tonight|keeps?)\b",
    re.IGNORECASE,
)


def danger_words(text: str) -> bool:
    return bool(DANGER.search(text))


def about_the_job(text: str) -> bool:
    return bool(JOB_CONTEXT.search(text))


def not_now(text: str) -> bool:
    return bool(NOT_NOW.search(text))


class SafetyModel:
    """Logistic regression over unit sentence vectors, trained with plain gradient descent."""

    def __init__(self, weights: np.ndarray, bias: float) -> None:
        self.weights, self.bias = weights, bias

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: np.ndarray, epochs: int = 400) -> SafetyModel:
        positives = max(int(labels.sum()), 1)
        negatives = max(len(labels) - positives, 1)
        # Balanced classes: the few emergencies weigh as much as every other example together.
        sample = np.where(labels == 1, len(labels) / (2 * positives), len(labels) / (2 * negatives))
        weights, bias, rate, decay = np.zeros(vectors.shape[1]), 0.0, 2.0, 1e-4
        for _ in range(epochs):
            p = 1 / (1 + np.exp(-(vectors @ weights + bias)))
            error = (p - labels) * sample
            weights -= rate * (vectors.T @ error / len(labels) + decay * weights)
            bias -= rate * float(error.mean())
        return cls(weights.astype(np.float32), float(bias))

    def probability(self, vector: np.ndarray) -> float:
        return float(1 / (1 + np.exp(-(float(vector @ self.weights) + self.bias))))


def is_emergency(
    text: str,
    model: SafetyModel,
    threshold: float,
    job_threshold: float,
    words: list[str] | None = None,
) -> bool:
    """Danger words outside talk of the job, or a vector that reads as an emergency (a stricter
    bar when the message talks about the job)."""
    danger, job, hypothetical = danger_words(text), about_the_job(text), not_now(text)
    recovered = bool(RECOVERED.search(text))
    if VIVID.search(text) and not hypothetical and not recovered:
        return True
    if LEARNING.search(text):
        hypothetical = True
    if recovered or (hypothetical and not NOW.search(text)):
        danger = False
    if SELF_HARM.search(text) and not SELF_HARM_TALK.search(text) and not recovered:
        return True
    if danger and (not job or NOW.search(text)):
        return True
    worry = HEALTH_WORRY.search(text) and not NERVES.search(text)
    if worry and not (hypothetical and job):
        return True
    if not SOMEONE.search(text):
        return False  # danger now happens to someone: "is that all done at the hospital?" no
    encoder = get_encoder()
    vector = encoder.words_and_sentence(words)[1] if words else encoder.encode(text)
    p = model.probability(vector)
    return p >= (job_threshold if job or hypothetical else threshold)


def _words(message: Message) -> list[str]:
    """The pipeline's tokens of the message: the featurizer's vector for them is reused."""
    return [t.text for t in message.get(TOKENS_NAMES[TEXT]) or []]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SafetyGate(SavedModelClassifier[SafetyModel]):
    """Overrides the intent with `medical_emergency` exactly when the message is an emergency."""

    WEIGHTS_FILE = WEIGHTS_FILE

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"threshold": 0.8, "job_threshold": 0.95, "epochs": 400}

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TOKENS_NAMES[TEXT])]
        vectors = np.stack(
            [s for _, s in get_encoder().words_and_sentences([_words(m) for m in examples])]
        )
        labels = np.array([m.get(INTENT) == EMERGENCY_INTENT for m in examples], dtype=np.float64)
        self.model = SafetyModel.fit(vectors.astype(np.float64), labels, int(self.config["epochs"]))
        return self.save(weights=self.model.weights, bias=np.array(self.model.bias))

    @classmethod
    def model_from(cls, arrays: dict[str, np.ndarray]) -> SafetyModel:
        return SafetyModel(arrays["weights"], float(arrays["bias"]))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if self.model is None or not text or text.startswith("/"):
                continue
            emergency = is_emergency(
                text,
                self.model,
                float(self.config["threshold"]),
                float(self.config["job_threshold"]),
                _words(message),
            )
            ranking = [
                r
                for r in message.get(INTENT_RANKING_KEY) or []
                if r.get("name") != EMERGENCY_INTENT
            ]
            if emergency:
                top = {"name": EMERGENCY_INTENT, "confidence": 1.0}
                message.set(INTENT, top, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)
            elif (message.get(INTENT) or {}).get("name") == EMERGENCY_INTENT:
                top = ranking[0] if ranking else {"name": None, "confidence": 0.0}
                message.set(INTENT, top, add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            else:
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
