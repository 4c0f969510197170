"""A module-level lazy singleton: built on first `get()`, shared by every thread, resettable."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LazySingleton(Generic[T]):
    """Double-checked locking: the warm path is one attribute read, the cold path builds once.

    A build that raises leaves nothing cached, so the next `get()` tries again.
    """

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._instance: T | None = None

    def get(self) -> T:
        instance = self._instance
        if instance is not None:
            return instance
        with self._lock:
            if self._instance is None:
                self._instance = self._build()
            return self._instance

    @property
    def built(self) -> bool:
        """Whether an instance is cached (the next `get()` is the warm path)."""
        return self._instance is not None

    def reset(self) -> None:
        with self._lock:
            self._instance = None
