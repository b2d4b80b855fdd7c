"""Celery tasks: thin wrappers that call the domain's services by id. Names are stable."""

from celery import shared_task

from kizuna import outbox
from kizuna.extensions import db
from network import reminders
from partners import reminders as partner_reminders


@shared_task(name="kizuna.deliver_outbox", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_outbox(ids: list[int]) -> dict:
    """Deliver the due outbox rows among `ids` over one SMTP connection; idempotent, commits as it goes.

    Acknowledged only when done; a worker lost midway leaves its rows `sending` under a lease, and the
    sweep (or this task, redelivered) takes them again once the lease is over.
    """
    report = outbox.deliver([int(i) for i in ids])
    return {"sent": len(report.sent), "retrying": len(report.retrying), "failed": len(report.failed)}


@shared_task(name="kizuna.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    """Re-enqueue rows left queued (lost enqueue), retrying past their time, or stuck in sending past
    their lease; idempotent, commits nothing (beat runs it every OUTBOX_SWEEP_INTERVAL)."""
    return len(outbox.sweep())


@shared_task(name="network.send_expiry_reminders", ignore_result=True)
def send_expiry_reminders() -> int:
    """Queue today's agreement expiry reminders and commit them with their outbox rows (beat, daily).

    Idempotent: each reminder is recorded once per agreement, expiry date and lead time, so a second run,
    or a run on a later day, sends nothing already sent. Returns the number of emails queued.
    """
    queued = reminders.send_expiry_reminders()
    db.session.commit()
    return queued


@shared_task(name="partners.send_follow_up_reminders", ignore_result=True)
def send_follow_up_reminders() -> int:
    """Queue a reminder to the owner of each follow-up that has fallen due, and commit them with their outbox
    rows and the follow-ups' reminded_at (beat, daily).

    Idempotent: a follow-up is reminded once, so a second run, or a run on a later day, sends nothing already
    sent. Returns the number of emails queued.
    """
    queued = partner_reminders.send_follow_up_reminders()
    db.session.commit()
    return queued


@shared_task(name="meetings.read_replies", ignore_result=True)
def read_replies() -> dict | None:
    """Read the calendar answers (iTIP REPLY) that mail programs sent to the office mailbox of REPLIES_IMAP_URL
    and record them (beat, every 5 minutes). Each answer is committed before its message is filed away; the
    mailbox's watermark is kept, so a second run reads nothing twice. Does nothing, and logs so, without the
    setting."""
    from meetings import inbox

    return inbox.read_replies()


@shared_task(name="partners.read_bounces", ignore_result=True)
def read_bounces() -> dict | None:
    """Read the delivery status notifications in the mailbox of BOUNCES_IMAP_URL, record them and mark the
    addresses that fail for good as bouncing (beat, every 5 minutes). Each bounce is committed before its message
    is marked seen; the mailbox's watermark is kept, so a second run reads nothing twice. Does nothing, and logs
    so, without the setting."""
    from partners import bounces

    return bounces.read_bounces()


@shared_task(name="meetings.expire_offers", ignore_result=True)
def expire_offers() -> int:
    """Lapse the places offered from a waiting list past their time and offer them on (beat, hourly); commits
    with the notices. Idempotent: a lapsed offer is cancelled once. Returns how many lapsed."""
    from meetings import services

    lapsed = services.expire_offers()
    db.session.commit()
    return lapsed


@shared_task(name="meetings.mark_held", ignore_result=True)
def mark_held() -> int:
    """Mark the scheduled meetings whose end has passed as held (beat, daily), so that they refuse changes,
    invitations, registrations and reminders; commits. Idempotent. Returns how many were marked."""
    from meetings import services

    held = services.mark_held()
    db.session.commit()
    return len(held)


@shared_task(name="partners.send_issue", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_issue(issue_id: int) -> int:
    """Plan one delivery per active subscriber of a `sending` issue and commit them, with chains of
    partners.send_issue_batch tasks for the pending deliveries, 1,000 each, enqueued after the commit (an alert's on
    kizuna.outbox.alert_queue(), which a worker must consume: see there). Idempotent: nobody gets a second
    delivery of an issue; a rerun (or a resume) re-enqueues the batches of what is still pending. Returns the
    number of new deliveries."""
    from partners import sending

    planned = sending.plan_deliveries(int(issue_id))
    db.session.commit()
    return planned


@shared_task(name="partners.send_issue_batch", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_issue_batch(issue_id: int, first_id: int, last_id: int, then: list | None = None) -> int:
    """Turn the pending deliveries first_id..last_id of an issue into outbox messages and commit them (their
    delivery tasks follow the commit, then this batch's chain goes on with the first range of `then`); then mark
    the issue sent if nothing is left pending. Idempotent: a delivery is queued once; a paused or cancelled issue
    queues nothing and ends the chain. Returns the number queued."""
    from partners import sending

    queued = sending.queue_deliveries(issue_id=int(issue_id), first_id=int(first_id), last_id=int(last_id),
                                      then=[[int(a), int(b)] for a, b in then or ()])
    db.session.commit()
    if sending.finish_if_done(int(issue_id)):
        db.session.commit()
    return queued


@shared_task(name="partners.start_scheduled_issues", ignore_result=True)
def start_scheduled_issues() -> list[int]:
    """Start the scheduled issues whose time has come and commit (beat, every minute); their deliveries are
    planned by partners.send_issue after the commit. Idempotent and safe to run twice at once: an issue is
    started once. Returns the ids started."""
    from partners import sending

    started = sending.start_scheduled()
    db.session.commit()
    return started


@shared_task(name="partners.resume_stalled_issues", ignore_result=True)
def resume_stalled_issues() -> list[int]:
    """Dispatch again the pending deliveries of issues whose sending has not moved for NEWSLETTER_STALL_SECONDS
    (a lost enqueue, a dead worker), after committing that it did (beat, every minute): once per that time at
    most. Never sends anyone twice: a delivery is queued once. Returns the issue ids."""
    from partners import sending

    found = sending.resume_stalled()
    db.session.commit()
    return found
