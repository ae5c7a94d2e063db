"""The orders engine interface: free text in, an ``OrderSet`` out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from carepipe.engines.orders.models import OrderSet


@runtime_checkable
class OrdersEngine(Protocol):
    """Reads clinical orders from free text. Pure: no database, no side effects."""

    name: str
    model_version: str

    def extract(self, text: str) -> OrderSet:
        """The orders in ``text``; clauses that gave nothing are in ``not_understood``."""
        ...
