"""The core pages as a browser sees them: sign-in, links, the account, language, admin pages, errors."""

import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from kizuna import services
from kizuna.extensions import db
from kizuna.models import AuditEvent, OutboundMessage, Role, User
from tests.conftest import PASSWORD, csrf_token, login
from tests.kizuna.test_accounts import queued_link


def test_home_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response.location.startswith("/login?next=")


def test_sign_in_then_out(client, make_user):
    user = make_user(Role.EDITOR, name="Aiko Sato")
    response = login(client, user)
    assert response.location == "/"
    assert "Welcome, Aiko Sato" in client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/").status_code == 302


def test_sign_in_redirects_only_to_local_pages(client, make_user):
    user = make_user(Role.VIEWER)
    response = client.post("/login?next=https://evil.example/", data={
        "email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.location == "/"


def test_wrong_password_says_so_and_keeps_the_email(client, make_user):
    user = make_user(Role.VIEWER)
    response = client.post("/login", data={"email": user.email, "password": "nope nope nope",
                                           "csrf_token": csrf_token(client)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The email address or the password is not right." in html
    assert f'value="{user.email}"' in html
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "user.login_failed")) == 1


def test_locked_account_is_told_how_long_and_how_to_unlock(client, make_user):
    user = make_user(Role.VIEWER)
    throttle = services.login_throttle()
    for _ in range(throttle.lock_after):
        throttle.failed(user.email, None)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 429
    assert "this account is locked for 15 minutes" in response.get_data(as_text=True)
    throttle.succeeded(user.email)


def test_malformed_email_is_answered_clearly(client):
    response = client.post("/login", data={"email": "not an email", "password": "x",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 422
    assert "Enter a valid email address" in response.get_data(as_text=True)


def test_a_form_without_the_right_csrf_token_changes_nothing(client, make_user):
    admin = make_user(Role.ADMIN)
    login(client, admin)
    response = client.post("/admin/users", data={"email": "x@example.test", "role": "viewer", "language": "en",
                                                  "csrf_token": "forged"})
    assert response.status_code == 400
    assert "Reload the page and send it again" in response.get_data(as_text=True)
    assert services.find_user("x@example.test") is None


def test_admin_invites_a_colleague_in_japanese(client, make_user):
    login(client, make_user(Role.ADMIN))
    response = client.post("/admin/users", data={
        "email": "Hanako@Example.test", "name": "Hanako Yamada", "role": "editor", "language": "ja",
        "csrf_token": csrf_token(client, "/admin/users")})
    assert response.status_code == 303
    assert "An invitation is on its way to hanako@example.test" in client.get("/admin/users").get_data(as_text=True)
    user = services.find_user("hanako@example.test")
    assert (user.role, user.language, user.has_password) == (Role.EDITOR, "ja", False)
    assert db.session.scalar(select(OutboundMessage).where(OutboundMessage.recipient == user.email)) is not None


def test_invitation_form_refuses_bad_input_and_saves_nothing(client, make_user):
    admin = make_user(Role.ADMIN)
    login(client, admin)
    token = csrf_token(client, "/admin/users")
    for data, message in [
        ({"email": "bad@", "role": "viewer"}, "Enter a valid email address"),
        ({"email": "a@example.test", "role": "viewer", "name": "n" * 201}, "Field cannot be longer than 200"),
        ({"email": admin.email, "role": "viewer"}, "already exists"),
        ({"email": "b@example.test", "role": "owner"}, "Not a valid choice"),
    ]:
        response = client.post("/admin/users", data={"language": "en", "csrf_token": token, **data})
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 0


def test_set_password_page_accepts_once_then_explains(client, make_user):
    admin = make_user(Role.ADMIN)
    user = services.invite_user(email="link@example.test", role="viewer", actor=admin)
    db.session.commit()
    path = queued_link(user)
    page = client.get(path)
    assert page.status_code == 200 and "link@example.test" in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    mismatch = client.post(path, data={"password": "a fine password", "confirm": "another one!",
                                       "csrf_token": token})
    assert mismatch.status_code == 422 and "The passwords differ." in mismatch.get_data(as_text=True)
    done = client.post(path, data={"password": "a fine password", "confirm": "a fine password",
                                   "csrf_token": token})
    assert done.status_code == 302 and done.location == "/"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    again = client.get(path)
    assert again.status_code == 410
    assert "This link has already been used" in again.get_data(as_text=True)


def test_tampered_reset_link_is_refused(client):
    response = client.get("/password/reset/not-a-real-token")
    assert response.status_code == 410
    assert "This link is not valid" in response.get_data(as_text=True)


def test_forgot_password_says_the_same_for_known_and_unknown_addresses(client, make_user):
    user = make_user(Role.VIEWER)
    answers = []
    for email in (user.email, "stranger@example.test"):
        response = client.post("/password/forgot", data={"email": email, "csrf_token": csrf_token(client)},
                               follow_redirects=True)
        answers.append(response.get_data(as_text=True).replace(email, "EMAIL"))
    assert "a link to set a new password is on its way" in answers[0]
    assert re.sub(r'value="[^"]+"', "", answers[0]) == re.sub(r'value="[^"]+"', "", answers[1])
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 1


def test_language_switch_is_kept_on_the_account(client, make_user):
    user = make_user(Role.VIEWER)
    login(client, user)
    response = client.post("/language", data={"language": "ja", "next": "/account",
                                              "csrf_token": csrf_token(client, "/")})
    assert response.location == "/account"
    assert db.session.get(User, user.id).language == "ja"
    assert '<html lang="ja">' in client.get("/account").get_data(as_text=True)


def test_anonymous_language_choice_is_kept_in_the_session(client):
    client.post("/language", data={"language": "ja", "csrf_token": csrf_token(client)})
    assert '<html lang="ja">' in client.get("/login").get_data(as_text=True)


def test_accept_language_picks_japanese_for_a_new_visitor(client):
    assert '<html lang="ja">' in client.get("/login", headers={"Accept-Language": "ja,en;q=0.5"}).get_data(
        as_text=True)


def test_times_are_shown_in_the_readers_zone_and_language(app, client, make_user):
    admin = make_user(Role.ADMIN, timezone="America/New_York")
    db.session.add(AuditEvent(action="test.event", object_type="test", actor_label="t",
                              at=datetime(2026, 7, 1, 3, 30, tzinfo=UTC)))
    db.session.commit()
    login(client, admin)
    assert "Jun 30, 2026, 11:30:00\u202fPM" in client.get("/admin/audit?action=test.event").get_data(as_text=True)
    client.post("/account", data={"profile-name": "", "profile-language": "ja", "profile-timezone": "Asia/Tokyo",
                                  "profile-submit": "1", "csrf_token": csrf_token(client, "/account")})
    assert "2026/07/01 12:30:00" in client.get("/admin/audit?action=test.event").get_data(as_text=True)


def test_account_settings_refuse_an_unknown_zone(client, make_user):
    user = make_user(Role.VIEWER)
    login(client, user)
    response = client.post("/account", data={"profile-language": "en", "profile-timezone": "Mars/Base",
                                             "profile-submit": "1", "csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert db.session.get(User, user.id).timezone != "Mars/Base"


def test_password_change_ends_other_sessions(app, client, make_user):
    user = make_user(Role.VIEWER)
    login(client, user)
    other = app.test_client()
    login(other, user)
    response = client.post("/account", data={
        "password-current": PASSWORD, "password-password": "a brand new password",
        "password-confirm": "a brand new password", "password-submit": "1",
        "csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302  # signed out


def test_audit_log_filters_by_action_and_actor(client, make_user):
    admin = make_user(Role.ADMIN, email="boss@example.test")
    services.invite_user(email="p@example.test", role="viewer", actor=admin)
    db.session.commit()
    login(client, admin)
    html = client.get("/admin/audit?action=user.invite&actor=boss").get_data(as_text=True)
    assert "p@example.test" in html and "user.login" not in html.split("<tbody>")[1]
    assert "No event matches" in client.get("/admin/audit?actor=nobody-at-all").get_data(as_text=True)


def test_api_token_is_created_on_the_account_page_and_shown_once(client, make_user):
    login(client, make_user(Role.EDITOR))
    client.post("/account/tokens", data={"name": "spreadsheet sync", "csrf_token": csrf_token(client, "/account")})
    first = client.get("/account").get_data(as_text=True)
    secret = re.search(r'<code class="token">(kz_[^<]+)</code>', first).group(1)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert secret not in client.get("/account").get_data(as_text=True)


def test_error_pages_say_what_to_do_next(client, make_user):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Check the address" in response.get_data(as_text=True)
    login(client, make_user(Role.VIEWER))
    forbidden = client.get("/admin/users")
    assert forbidden.status_code == 403
    assert "ask an administrator" in forbidden.get_data(as_text=True)


def test_security_headers_and_cookie_flags(client, make_user):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_healthz_reports_database_broker_and_backlog(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] and body["database"]["ok"] and body["broker"] == {"ok": True, "mode": "redis"}
    assert set(body["outbox"]) == {"queued", "sending", "retrying", "failed"}


def test_openapi_describes_every_api_endpoint(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    routes = {r.endpoint for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")
              and r.endpoint != "api.openapi"}
    assert routes <= documented
    assert spec["paths"]["/api/v1/me"]["get"]["security"] == [{"bearer": []}]
