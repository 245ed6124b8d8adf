"""A Rasa graph component: all-MiniLM-L6-v2's vectors as dense features for DIET.

The sparse featurizers know the words of our own training examples and nothing else; these
vectors carry what the model learnt from a billion sentence pairs, so "would I have to lift
people" lands near "manual handling of patients" though they share no word. Each of the
pipeline's tokens gets the mean of its word pieces' vectors (sequence features) and the
message gets the model's pooled sentence vector (sentence features).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.embeddings import get_encoder


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense features of the message text from all-MiniLM-L6-v2 (bot/embeddings.py)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config()}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        return cls(execution_context.node_name, config)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        pass

    def process(self, messages: list[Message]) -> list[Message]:
        """Features for each message with tokens, the messages encoded in batches."""
        tokenised = [m for m in messages if m.get(TOKENS_NAMES[TEXT])]
        words = [[t.text for t in m.get(TOKENS_NAMES[TEXT])] for m in tokenised]
        vectors_of = get_encoder().words_and_sentences(words)
        for message, vectors in zip(tokenised, vectors_of, strict=True):
            self._add(message, *vectors)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def _add(self, message: Message, words: np.ndarray, sentence: np.ndarray) -> None:
        alias = self._config[FEATURIZER_CLASS_ALIAS]
        message.add_features(Features(words, FEATURE_TYPE_SEQUENCE, TEXT, alias))
        message.add_features(
            Features(np.expand_dims(sentence, 0), FEATURE_TYPE_SENTENCE, TEXT, alias)
        )
