"""JSON endpoints of the meetings module (routes added to the shared API blueprint kizuna.api.bp)."""

from __future__ import annotations
