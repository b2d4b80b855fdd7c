"""The public pages of newsletters: unsubscribe (RFC 8058 one-click) and the double opt-in confirmation.

Both are opened by signed links (partners.newsletters): a tampered link or one for another list gets a 404
page and changes nothing.
"""

from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField

from kizuna import auth
from kizuna.extensions import csrf, db

from . import newsletters
from .services import PartnersError

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
