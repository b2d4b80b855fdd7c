"""The web layer shared by every module: access checks, security headers, error pages, template helpers."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, render_template, request
from flask_babel import format_datetime, format_decimal, get_locale, get_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import auth
from .extensions import login_manager
from .i18n import LANGUAGES, role_label
from .models import Role

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'")

ERROR_TEXT = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back, check what you entered and try again.")),
    401: (_l("Sign-in required"), _l("Sign in to continue.")),
    403: (_l("Not allowed"), _l("Your account may not open this page. If you need it, ask an administrator "
                                 "for a role that allows it.")),
    404: (_l("Page not found"), _l("Nothing is here. Check the address, or start again from the home page.")),
    405: (_l("Not allowed"), _l("This page does not accept that kind of request.")),
    413: (_l("Too large"), _l("The upload is larger than Kizuna accepts.")),
    422: (_l("Could not process"), _l("Some of what you sent could not be accepted. Go back, correct it and "
                                       "try again.")),
    429: (_l("Too many attempts"), _l("Wait a little and try again.")),
    500: (_l("Something went wrong"), _l("Kizuna could not finish this request. Nothing was saved. Try again "
                                          "in a moment; if it happens again, tell an administrator.")),
}


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def error_response(status: int, message: str | None = None, back: str | None = None):
    title, hint = ERROR_TEXT.get(status, ERROR_TEXT[500])
    if auth.is_api_request():
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                413: "too_large", 422: "invalid", 429: "too_many_requests"}.get(
            status, "error" if status >= 500 else "bad_request")
        return auth.api_error(status, code, message or str(hint))
    return render_template("errors/error.html", status=status, title=title, hint=message or hint,
                           back=back), status


def _handle_http(exc: HTTPException):
    # abort(404, "…") carries a message for the reader; the class default is replaced by ours.
    custom = exc.description if exc.description != type(exc).description else None
    return error_response(exc.code or 500, custom)


def _handle_csrf(exc: CSRFError):
    return error_response(400, str(_l("The form had expired or came from another page, so nothing was saved. "
                                     "Reload the page and send it again.")))


def file_size(size: int) -> str:
    """A size as people read it: '850 bytes', '12.5 KB', '32 MB' (in the reader's number format)."""
    if size < 1024:
        return str(_l("%(num)s bytes", num=format_decimal(size)))
    if size < 1024 * 1024:
        return str(_l("%(num)s KB", num=format_decimal(size / 1024, "#,##0.#")))
    return str(_l("%(num)s MB", num=format_decimal(size / (1024 * 1024), "#,##0.#")))


def _handle_too_large(exc: RequestEntityTooLarge):
    # Refused before the body is read (MAX_CONTENT_LENGTH): say the limit, and lead back to the form.
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    message = _l("The upload is larger than Kizuna accepts: at most %(size)s in one request. Nothing was "
                 "saved. Go back and choose a smaller file.", size=file_size(limit))
    referrer = request.referrer or ""
    back = referrer if referrer.startswith(request.host_url) else None
    return error_response(413, str(message), back=back)


def _handle_500(exc):
    return error_response(500)


def localtime(value, fmt: str = "medium"):
    """A UTC datetime in the reader's zone and language, with the zone's abbreviation."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def nav_items():
    """The navigation for the signed-in user's role: (endpoint, label)."""
    items = [("kizuna.home", _l("Home"))]
    if current_user.is_authenticated and current_user.is_staff:
        items.append(("network.home", _l("Network")))
        items.append(("network.cities", _l("Cities")))
        items.append(("partners.contacts", _l("Contacts")))
        items.append(("meetings.board", _l("Meetings")))
        items.append(("lists.index", _l("Newsletters")))
        items.append(("alerts.queue", _l("Alerts")))
        items.append(("admin.outbox_list", _l("Outbox")))
        if not current_app.config["SMTP_URL"]:
            items.append(("admin.mailbox_list", _l("Mailbox")))
        if current_user.has_role(Role.ADMIN):
            items += [("admin.users", _l("Users")), ("admin.audit", _l("Audit log"))]
    elif current_user.is_authenticated and current_user.has_role(Role.LIAISON, Role.DELEGATE):
        items += [("partners.me", _l("My profile")), ("meetings.mine", _l("My meetings"))]
    return items


def init_app(app: Flask) -> None:
    login_manager.login_view = "kizuna.login"
    login_manager.login_message = _l("Sign in to open that page.")
    login_manager.login_message_category = "info"
    app.before_request(auth.enforce_access)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(RequestEntityTooLarge, _handle_too_large)
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(500, _handle_500)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, nav_items=nav_items, Role=Role, current_timezone=get_timezone,
                           current_locale=get_locale, role_label=role_label, file_size=file_size)


@dataclass(frozen=True)
class ListPage:
    """The pager macro's view of a page of rows counted by hand (the attributes of Flask-SQLAlchemy's Pagination)."""

    page: int
    total: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1
