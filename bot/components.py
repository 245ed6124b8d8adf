"""What the project's own trainable intent components share: a NumPy model saved as one .npz.

bot.safety.SafetyGate and bot.parts.QuestionParts each train a small regression over sentence
vectors at `make train` and read it back when Rasa loads the model; Rasa's graph needs the same
create/load/persist plumbing from both.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.training_data.training_data import TrainingData

M = TypeVar("M")
C = TypeVar("C", bound="SavedModelClassifier[Any]")


class SavedModelClassifier(GraphComponent, IntentClassifier, Generic[M]):
    """An intent component whose trained model is a few NumPy arrays in WEIGHTS_FILE."""

    WEIGHTS_FILE: ClassVar[str]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: M | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage, self._resource, self.model = model_storage, resource, model

    @classmethod
    def create(
        cls: type[C],
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> C:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls: type[C],
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> C:
        with model_storage.read_from(resource) as directory:
            saved = np.load(directory / cls.WEIGHTS_FILE)
            model = cls.model_from({name: saved[name] for name in saved.files})
        return cls(config, model_storage, resource, model)

    @classmethod
    @abstractmethod
    def model_from(cls, arrays: dict[str, np.ndarray]) -> M:
        """The model from the arrays `save` wrote."""

    def save(self, **arrays: np.ndarray) -> Resource:
        with self._storage.write_to(self._resource) as directory:
            np.savez(directory / self.WEIGHTS_FILE, **arrays)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
