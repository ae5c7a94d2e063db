"""ASR error types live in ``carepipe.core.errors``; re-exported here for the engines."""

from __future__ import annotations

from carepipe.core.errors import AsrModelNotFound, AsrRequestRejected

__all__ = ["AsrModelNotFound", "AsrRequestRejected"]
