"""The public pages of newsletters: unsubscribe (RFC 8058 one-click), the double opt-in confirmation and the
subscribe form of lists open to the public (the archive of past issues is in views_lists.py).

Pages opened by signed links (partners.newsletters): a tampered link or one for another list gets a 404 page
and changes nothing.
"""

from __future__ import annotations

import math

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField

from kizuna import auth
from kizuna.extensions import csrf, db
from network.forms import choices

from . import lists, newsletters
from .forms_lists import SubscribeForm
from .models import MailingList
from .services import PartnersError
from .views import language_name

bp = Blueprint("newsletters", __name__)


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("Confirm my subscription"))


def _invalid(message: str):
    abort(make_response(render_template("partners/newsletter_link_invalid.html", message=message), 404))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@auth.public
@csrf.exempt  # RFC 8058: mail programs POST "List-Unsubscribe=One-Click" with no session; the token is the secret
def unsubscribe(token: str):
    """GET shows what the link would do and a button; only the POST (the button, or a mail program's
    one-click) unsubscribes, so that link scanners and prefetchers change nothing."""
    try:
        subscription = newsletters.subscription_for_unsubscribe(token)
    except PartnersError as exc:
        _invalid(str(exc))
    if request.method == "POST":
        subscription = newsletters.unsubscribe(token=token)
        db.session.commit()
        return render_template("partners/newsletter_unsubscribed.html", subscription=subscription,
                               list_name=subscription.mailing_list.name(subscription.contact.preferred_language))
    return render_template("partners/newsletter_unsubscribe.html", subscription=subscription,
                           list_name=subscription.mailing_list.name(subscription.contact.preferred_language))


@bp.route("/subscribe/confirm/<token>", methods=["GET", "POST"])
@auth.public
def confirm(token: str):
    """The double opt-in link: GET shows a button, the POST confirms (prefetchers must not subscribe anyone)."""
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            subscription = newsletters.confirm_subscription(token=token)
        except PartnersError as exc:
            _invalid(str(exc))
        db.session.commit()
        return render_template("partners/newsletter_confirmed.html",
                               list_name=subscription.mailing_list.name(subscription.contact.preferred_language))
    try:
        subscription = newsletters.check_confirmation(token)
    except PartnersError as exc:
        _invalid(str(exc))
    return render_template("partners/newsletter_confirm.html", form=form, subscription=subscription,
                           list_name=subscription.mailing_list.name(subscription.contact.preferred_language))


# -- the public subscribe form ------------------------------------------------------------------------------


def _reader_language() -> str:
    return str(get_locale() or "en")


def _public_list(list_id: int) -> MailingList:
    mailing_list = db.session.get(MailingList, list_id)
    if mailing_list is None or not mailing_list.public_subscribe:
        abort(404)
    return mailing_list


def _language_choices(mailing_list: MailingList) -> list[tuple[str, str]]:
    """The languages the list is named in, the default first, each named in its own language."""
    default = mailing_list.default_language
    codes = [default, *sorted(code for code in mailing_list.names if code != default)]
    return choices((code, language_name(code)) for code in codes)


@bp.route("/newsletters/<int:list_id>/subscribe", methods=["GET", "POST"])
@auth.public
def subscribe(list_id: int):
    """The form of a list open to the public. The answer is the same whether or not the address was already
    subscribed (no one learns who reads what); requests are limited per address and per client address."""
    mailing_list = _public_list(list_id)
    form = SubscribeForm()
    form.language.choices = _language_choices(mailing_list)
    language = _reader_language()
    if request.method == "GET":
        codes = [choice.value for choice in form.language.choices]
        form.language.data = language if language in codes else mailing_list.default_language
    if not form.validate_on_submit():
        return render_template("partners/newsletter_subscribe.html", mailing_list=mailing_list, form=form,
                               list_name=mailing_list.name(language)), 422 if form.is_submitted() else 200
    done = redirect(url_for(".subscribe_sent", list_id=mailing_list.id), 303)
    if form.website.data:
        return done  # a robot filled the trap: it is told what a person is told, and nothing happens
    ip = request.remote_addr
    verdict = lists.subscribe_allowed(form.email.data, ip)
    if not verdict.allowed:
        minutes = max(1, math.ceil(verdict.retry_after / 60))
        response = make_response(render_template("partners/newsletter_subscribe_limit.html",
                                                 mailing_list=mailing_list, minutes=minutes,
                                                 list_name=mailing_list.name(language)), 429)
        response.headers["Retry-After"] = str(verdict.retry_after)
        return response
    lists.count_subscribe_request(form.email.data, ip)
    try:
        newsletters.request_subscription(list_id=mailing_list.id, email=form.email.data,
                                         family_name=form.family_name.data or "", given_name=form.given_name.data or "",
                                         language=form.language.data or None, ip=ip)
    except PartnersError as exc:
        db.session.rollback()
        field = getattr(form, exc.field or "", None) or form.email
        field.errors = [*field.errors, str(exc)]
        return render_template("partners/newsletter_subscribe.html", mailing_list=mailing_list, form=form,
                               list_name=mailing_list.name(language)), 422
    db.session.commit()
    return done


@bp.get("/newsletters/<int:list_id>/subscribe/sent")
@auth.public
def subscribe_sent(list_id: int):
    """What everyone who sent the form reads, whatever became of it."""
    mailing_list = _public_list(list_id)
    return render_template("partners/newsletter_subscribe_sent.html", mailing_list=mailing_list,
                           list_name=mailing_list.name(_reader_language()))
