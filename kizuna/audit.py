"""The audit log: who changed what, when, with a before/after summary."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from .extensions import db
from .models import AuditEvent, User


def record(action: str, *, actor: User | None, object_type: str, object_id: Any = None,
           object_label: str = "", before: dict | None = None, after: dict | None = None) -> AuditEvent:
    """Add an audit event to the caller's transaction (flushed with it, never committed here)."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.email if actor is not None else "system",
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        object_label=object_label[:300],
        before=before,
        after=after,
        # The one piece of request data the log keeps; services stay free of `request` themselves.
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Reduce two snapshots to the keys whose values differ."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
