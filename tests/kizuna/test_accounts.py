"""Accounts: creation, invitations and resets by signed single-use links, sign-in throttling, roles."""

import re

import pytest
from sqlalchemy import select

from kizuna import services
from kizuna.extensions import db
from kizuna.models import AuditEvent, OutboundMessage, Role, User
from kizuna.outbox import parse
from tests.conftest import PASSWORD

LINK = re.compile(r"http://kizuna\.test(/\S+)")


def queued_link(user: User) -> str:
    row = db.session.scalars(select(OutboundMessage).where(OutboundMessage.recipient == user.email)
                             .order_by(OutboundMessage.id.desc())).first()
    assert row is not None, f"no message queued for {user.email}"
    text = parse(row.raw).get_body(preferencelist=("plain",)).get_content()
    return LINK.search(text).group(1)


def test_password_is_hashed_with_scrypt(db_session, make_user):
    user = make_user(Role.VIEWER)
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"email": "not-an-email"}, "is not a valid email address"),
    ({"email": "a@b.test", "role": "superuser"}, "Unknown role"),
    ({"email": "a@b.test", "role": "delegate"}, "must be bound to a partner city"),
    ({"email": "a@b.test", "role": "liaison"}, "must be bound to an embassy"),
    ({"email": "a@b.test", "role": "editor", "partner_id": 3}, "Only delegate and liaison"),
    ({"email": "a@b.test", "password": "short"}, "at least 10 characters"),
    ({"email": "a@b.test", "password": "x" * 129}, "at most 128 characters"),
    ({"email": "a@b.test", "name": "n" * 201}, "at most 200 characters"),
    ({"email": "a@b.test", "timezone": "Mars/Olympus"}, "Unknown time zone"),
])
def test_create_user_refuses_bad_input_and_saves_nothing(db_session, kwargs, message):
    kwargs = {"role": "viewer", "actor": None, **kwargs}
    with pytest.raises(services.AccountError, match=message):
        services.create_user(**kwargs)
    assert db.session.scalar(select(User).where(User.email == "a@b.test")) is None


def test_duplicate_email_is_refused_whatever_the_case(db_session, make_user):
    user = make_user(Role.EDITOR, email="Aiko.Sato@Example.test")
    assert user.email == "aiko.sato@example.test"
    with pytest.raises(services.AccountError, match="already exists"):
        services.create_user(email="AIKO.SATO@example.test", role="viewer", actor=None)


def test_external_roles_bind_to_their_target(db_session, make_partner, make_embassy):
    partner, embassy = make_partner(), make_embassy()
    delegate = services.create_user(email="d@partner.test", role="delegate", partner_id=partner.id, actor=None)
    liaison = services.create_user(email="l@embassy.test", role="liaison", embassy_id=embassy.id, actor=None)
    assert (delegate.partner_id, delegate.is_staff) == (partner.id, False)
    assert (liaison.embassy_id, liaison.is_staff) == (embassy.id, False)


def test_staff_roles_include_lower_ones(db_session, make_user):
    admin, editor, viewer = make_user(Role.ADMIN), make_user(Role.EDITOR), make_user(Role.VIEWER)
    assert admin.has_role(Role.EDITOR) and admin.has_role(Role.VIEWER)
    assert editor.has_role(Role.VIEWER) and not editor.has_role(Role.ADMIN)
    assert not viewer.has_role(Role.EDITOR)
    assert not make_user(Role.DELEGATE).has_role(Role.VIEWER)


def test_invitation_queues_a_message_in_the_invitees_language_and_is_audited(db_session, make_user):
    admin = make_user(Role.ADMIN)
    user = services.invite_user(email="kenji@example.test", role="editor", language="ja", actor=admin)
    db.session.commit()
    row = db.session.scalar(select(OutboundMessage).where(OutboundMessage.recipient == user.email))
    assert row.category == "account.invitation" and row.status.value == "queued"
    msg = parse(row.raw)
    assert msg["Message-ID"] == row.message_id
    assert msg.get_body(preferencelist=("html",)) is not None
    assert queued_link(user).startswith("/invitation/")
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))).all()
    assert {"user.create", "user.invite"} <= set(actions)
    assert not user.has_password


def test_invitation_link_sets_the_password_once(db_session, make_user):
    admin = make_user(Role.ADMIN)
    user = services.invite_user(email="new@example.test", role="viewer", actor=admin)
    token = queued_link(user).rsplit("/", 1)[1]
    services.set_password_from_link(token=token, purpose="invitation", password="a long new password")
    db.session.commit()
    assert services.authenticate(email="new@example.test", password="a long new password", ip=None) == user
    with pytest.raises(services.AccountError, match="already been used"):
        services.user_for_link(token, "invitation")


def test_links_are_bound_to_their_purpose_and_signature(db_session, make_user):
    user = make_user(Role.VIEWER)
    token = services.make_link_token(user, "reset")
    with pytest.raises(services.AccountError, match="not valid"):
        services.user_for_link(token, "invitation")
    with pytest.raises(services.AccountError, match="not valid"):
        services.user_for_link(token[:-2] + "xx", "reset")


def test_expired_link_is_refused(db_session, make_user, monkeypatch):
    user = make_user(Role.VIEWER)
    token = services.make_link_token(user, "reset")
    monkeypatch.setitem(services.LINK_MAX_AGE, "reset", -1)
    with pytest.raises(services.AccountError, match="expired"):
        services.user_for_link(token, "reset")


def test_reinvite_voids_the_earlier_link(db_session, make_user):
    admin = make_user(Role.ADMIN)
    user = services.invite_user(email="again@example.test", role="viewer", actor=admin)
    first = queued_link(user).rsplit("/", 1)[1]
    services.resend_invitation(user_id=user.id, actor=admin)
    second = queued_link(user).rsplit("/", 1)[1]
    assert first != second
    with pytest.raises(services.AccountError, match="already been used"):
        services.user_for_link(first, "invitation")
    assert services.user_for_link(second, "invitation") == user


def test_reset_request_for_unknown_address_queues_nothing(db_session):
    services.request_password_reset(email="nobody@example.test")
    assert db.session.scalar(select(OutboundMessage)) is None


def test_failed_sign_ins_slow_down_then_lock_and_a_reset_unlocks(db_session, make_user, app):
    user = make_user(Role.EDITOR)
    throttle = services.login_throttle()
    throttle.store.reset(f"kizuna:login:acct:{user.email}")
    for _ in range(3):
        with pytest.raises(services.LoginRefused, match="not right") as info:
            services.authenticate(email=user.email, password="wrong password", ip=None)
        assert info.value.retry_after == 0
    # after three failures the next attempt must wait, even with the right password
    with pytest.raises(services.LoginRefused, match="Wait 1 second and") as info:
        services.authenticate(email=user.email, password=PASSWORD, ip=None)
    assert info.value.retry_after == 1
    for _ in range(7):  # reach the lock (10 failures) as an attacker would, waits aside
        throttle.failed(user.email, None)
    with pytest.raises(services.LoginRefused, match="locked") as info:
        services.authenticate(email=user.email, password=PASSWORD, ip=None)
    assert 800 < info.value.retry_after <= 900
    services.set_password_from_link(token=services.make_link_token(user, "reset"), purpose="reset",
                                    password="another long password")
    assert services.authenticate(email=user.email, password="another long password", ip=None) == user


def test_one_address_trying_many_accounts_is_locked_out(db_session, app):
    throttle = services.login_throttle()
    ip = "203.0.113.77"
    throttle.store.reset(f"kizuna:login:ip:{ip}")
    for i in range(throttle.ip_lock_after):
        throttle.failed(f"victim{i}@example.test", ip)
    with pytest.raises(services.LoginRefused, match="locked"):
        services.authenticate(email="someone-else@example.test", password="x" * 12, ip=ip)
    throttle.store.reset(f"kizuna:login:ip:{ip}")


def test_throttle_counts_live_in_redis_in_production(app, redis_url):
    import redis

    from kizuna.throttle import RedisStore

    throttle = app.extensions["kizuna.login_throttle"]
    assert isinstance(throttle.store, RedisStore)
    throttle.failed("shared@example.test", None)
    assert redis.Redis.from_url(redis_url).hget("kizuna:login:acct:shared@example.test", "n") == b"1"
    throttle.succeeded("shared@example.test")


def test_deactivated_account_cannot_sign_in(db_session, make_user):
    admin, user = make_user(Role.ADMIN), make_user(Role.VIEWER)
    services.update_user(user_id=user.id, role="viewer", active=False, actor=admin)
    with pytest.raises(services.LoginRefused, match="deactivated"):
        services.authenticate(email=user.email, password=PASSWORD, ip=None)


def test_admin_cannot_demote_or_deactivate_themselves(db_session, make_user):
    admin = make_user(Role.ADMIN)
    with pytest.raises(services.AccountError, match="your own role"):
        services.update_user(user_id=admin.id, role="viewer", active=True, actor=admin)


def test_role_change_is_audited_with_before_and_after(db_session, make_user):
    admin, user = make_user(Role.ADMIN), make_user(Role.VIEWER)
    services.update_user(user_id=user.id, role="editor", active=True, actor=admin)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.update")).one()
    assert (event.actor_id, event.before, event.after) == (admin.id, {"role": "viewer"}, {"role": "editor"})


def test_api_token_is_shown_once_and_kept_as_a_hash(db_session, make_user):
    user = make_user(Role.EDITOR)
    token, secret = services.create_api_token(user=user, name="sync", actor=user)
    assert secret.startswith("kz_") and secret not in (token.token_hash, token.prefix)
    assert len(token.token_hash) == 64
    disabled = make_user(Role.LIAISON)
    disabled.active = False
    with pytest.raises(services.AccountError, match="disabled"):
        services.create_api_token(user=disabled, name="x", actor=None)
