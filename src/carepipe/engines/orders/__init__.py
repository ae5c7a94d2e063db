"""Free-text clinical orders -> structured orders (medications, services, follow-ups).

>>> from carepipe.engines.orders import RulesOrdersEngine
>>> orders = RulesOrdersEngine().extract("Start metformin 500 mg twice daily")
>>> orders.medications[0].name, orders.medications[0].timing.frequency
('metformin', 2)
"""

from carepipe.core.errors import EngineNotConfigured, EngineRequestRejected
from carepipe.engines.orders.base import OrdersEngine
from carepipe.engines.orders.loader import clear_orders_engine_cache, load_orders_engine
from carepipe.engines.orders.models import (
    FollowUp,
    MedicationOrder,
    OrderSet,
    Quantity,
    ServiceOrder,
    Span,
    Timing,
    Usage,
)
from carepipe.engines.orders.openai_chat import OpenAiChatOrdersEngine
from carepipe.engines.orders.rules import RulesOrdersEngine
from carepipe.engines.orders.summary import summarize_bundle

__all__ = [
    "EngineNotConfigured",
    "EngineRequestRejected",
    "FollowUp",
    "MedicationOrder",
    "OpenAiChatOrdersEngine",
    "OrderSet",
    "OrdersEngine",
    "Quantity",
    "RulesOrdersEngine",
    "ServiceOrder",
    "Span",
    "Timing",
    "Usage",
    "clear_orders_engine_cache",
    "load_orders_engine",
    "summarize_bundle",
]
