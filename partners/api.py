"""JSON endpoints of the partners module (routes added to the shared API blueprint kizuna.api.bp)."""

from __future__ import annotations
