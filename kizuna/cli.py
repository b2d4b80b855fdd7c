"""The `kizuna` command: a Flask CLI group with Kizuna's own commands (`kizuna --help`)."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from .config import ConfigError
from .extensions import db
from .models import Role, User

DEMO_ADMIN = "admin@kizuna.test"


def _create_app():
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False,
             help="Kizuna: the intercity network and conference platform.\n\n"
                  "Settings come from environment variables (and a .env file): SECRET_KEY, DATABASE_URL, "
                  "REDIS_URL, SMTP_URL, MAIL_FROM, BASE_URL, HOME_CITY, INSTANCE_PATH.")
def cli():
    pass


def main() -> None:
    try:
        cli.main(prog_name="kizuna")
    except ConfigError as exc:
        click.echo(f"Configuration error: {exc}", err=True)
        sys.exit(2)


def _role_choice():
    return click.Choice([r.value for r in Role])


@cli.command("create-user")
@click.option("--email", required=True, help="The account's email address.")
@click.option("--role", required=True, type=_role_choice(), help="admin, editor, viewer, delegate or liaison.")
@click.option("--password", help="Set this password; without it you are asked for one, or use --invite.")
@click.option("--invite", is_flag=True, help="Email a set-password link instead of setting a password.")
@click.option("--name", default="", help="The person's name.")
@click.option("--language", default="en", type=click.Choice(["en", "ja"]), show_default=True)
@click.option("--partner-id", type=int, help="The partner city a delegate is bound to.")
@click.option("--embassy-id", type=int, help="The embassy a liaison is bound to.")
@with_appcontext
def create_user(email, role, password, invite, name, language, partner_id, embassy_id):
    """Create an account (staff or external) and print what was done."""
    from . import services

    if invite and password:
        raise click.UsageError("Use either --password or --invite, not both.")
    if not invite and password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        if invite:
            inviter = db.session.scalar(db.select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1))
            if inviter is None:
                raise click.ClickException("--invite needs an existing admin to send the invitation from.")
            user = services.invite_user(email=email, role=role, name=name, language=language, actor=inviter,
                                        partner_id=partner_id, embassy_id=embassy_id)
        else:
            user = services.create_user(email=email, role=role, name=name, password=password, language=language,
                                        partner_id=partner_id, embassy_id=embassy_id, actor=None)
    except services.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email}" + (" and sent an invitation." if invite else "."))


@cli.command("create-api-token")
@click.option("--email", required=True, help="The staff account the token acts as.")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@with_appcontext
def create_api_token(email, name):
    """Create an API token and print it once; only its hash is kept."""
    from . import services

    user = services.find_user(email)
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    try:
        _, secret = services.create_api_token(user=user, name=name, actor=None)
    except services.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(secret)
    click.echo("Keep it now: it cannot be shown again. Use it as 'Authorization: Bearer <token>'.", err=True)


def _demo_admin(app: Flask) -> tuple[str, str]:
    """The demo admin and its password, kept in the instance folder so restarts keep working."""
    from . import services

    path = Path(app.instance_path) / "demo-admin-password"
    user = services.find_user(DEMO_ADMIN)
    if user is None or not path.exists():
        password = secrets.token_urlsafe(12)
        if user is None:
            services.create_user(email=DEMO_ADMIN, role=Role.ADMIN, name="Demo Administrator",
                                 password=password, actor=None)
        else:
            services.reset_password(user=user, password=password, actor=None)
        path.write_text(password)
        path.chmod(0o600)
        db.session.commit()
    return DEMO_ADMIN, path.read_text().strip()


@cli.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--min-population", default=15000, show_default=True, type=click.IntRange(min=500),
              help="Cities to load as reference data.")
def demo(host, port, min_population):
    """Run Kizuna on its own: SQLite in the instance folder, tasks in-process, mail into a local mailbox.

    Creates or upgrades the database, loads reference data, makes HOME_CITY (Tokyo) the home city, seeds
    Tokyo's network and its intercity meetings, creates a demo admin and prints the credentials, then
    serves on HOST:PORT.
    """
    from flask_migrate import upgrade
    from werkzeug.serving import run_simple

    import meetings.demo
    import network.demo
    import network.reference
    import network.services
    import partners.alerts
    import partners.demo_newsletters

    from . import create_app

    app = create_app({"DEMO": True, "DATABASE_URL": None, "REDIS_URL": None, "SMTP_URL": None,
                      "BASE_URL": os.environ.get("BASE_URL") or f"http://{host}:{port}"})
    with app.app_context():
        click.echo(f"Database: {app.config['SQLALCHEMY_DATABASE_URI']}")
        upgrade()
        for report in network.reference.load(min_population=min_population):
            click.echo(f"Reference data: {report}")
        db.session.commit()
        if network.demo.seed_tokyo():
            click.echo("Registry: Tokyo's partner cities, agreements, networks and sample embassies.")
        db.session.commit()
        if meetings.demo.seed_meetings():
            click.echo("Meetings: the leaders', senior officials' and working-level meetings, partner cities "
                       "invited (sample delegates).")
        db.session.commit()
        if partners.alerts.seed_templates():
            click.echo("Alerts: earthquake, typhoon, heavy rain and infectious disease templates in 14 languages.")
        db.session.commit()
        if partners.demo_newsletters.seed_newsletters():
            click.echo("Newsletters: the diplomatic corps' weekly update with sample liaisons and an issue in its "
                       "archive, and the sister cities news.")
        db.session.commit()
        home = network.services.home_city()
        if home is None:
            raise click.ClickException(f"HOME_CITY {app.config['HOME_CITY']!r} is not among the loaded cities.")
        email, password = _demo_admin(app)
        from . import outbox

        if pending := outbox.sweep():  # no beat runs in the demo: deliver what an earlier run left
            click.echo(f"Delivering {len(pending)} messages left from an earlier run.")
        click.echo(f"\nHome city: {home.name} ({home.country_code}, {home.timezone})")
    click.echo(f"Kizuna is at http://{host}:{port}/  — sign in as {email} with password {password}")
    click.echo("Mail is delivered into the local mailbox: Mailbox in the menu.\n")
    run_simple(host, port, app, threaded=True, use_reloader=False)


class _ImportKind(click.Choice):
    """The kinds network.importing knows, asked when the command runs: kizuna does not import network on load."""

    def __init__(self):
        super().__init__(())

    @property
    def choices(self):
        from network.importing import KINDS
        from partners.importing import KINDS as PARTNER_KINDS

        return (*KINDS, *PARTNER_KINDS, "ics")

    @choices.setter
    def choices(self, _value):
        pass


@cli.command("import")
@click.argument("kind", type=_ImportKind())
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print the preview report and save nothing.")
@click.option("--choose", "choices", multiple=True, metavar="ROW=CITY_ID",
              help="Resolve an ambiguous or unmatched city: the row number and a candidate's id. Repeatable.")
@click.option("--resolve", "resolutions", multiple=True, metavar="ROW=skip|import",
              help="contacts: what to do with a row that may duplicate someone: skip it or import it anyway. "
                   "Repeatable.")
@with_appcontext
def import_file(kind, file, dry_run, choices, resolutions):
    """Import KIND from FILE (CSV in UTF-8 or Shift_JIS, or XLSX; contacts also vCard): every row is matched to
    reference cities and countries; all rows are saved, or none. Exits with 1 when a row needs attention.
    ics: a calendar invitation received from outside creates or updates the meeting with its UID, or cancels it."""
    if kind == "ics":
        _import_ics(file, dry_run)
        return
    from network import importing
    from network.tabular import TableError
    from partners import importing as contacts

    try:
        picks = {int(row): int(city) for row, city in (c.split("=", 1) for c in choices)}
    except ValueError:
        raise click.UsageError("--choose takes ROW=CITY_ID, such as --choose 4=2643743") from None
    decisions = dict(r.split("=", 1) for r in resolutions if "=" in r)
    if len(decisions) != len(resolutions) or not all(row.isdigit() and what in ("skip", "import")
                                                     for row, what in decisions.items()):
        raise click.UsageError("--resolve takes ROW=skip or ROW=import, such as --resolve 4=skip")
    data = file.read_bytes()
    # The registry's kinds name themselves to its import; contacts come with decisions on possible duplicates.
    module, args, extra = ((importing, (kind,), {}) if kind in importing.KINDS else
                           (contacts, (), {"resolutions": {int(row): what for row, what in decisions.items()}}))
    try:
        if dry_run:
            report = module.preview(*args, data, file.name, choices=picks, **extra)
        else:
            report = module.commit(*args, data, file.name, actor=None, choices=picks, **extra)
            db.session.commit()
    except TableError as exc:
        raise click.ClickException(str(exc)) from None
    except module.ImportRefused as exc:
        report = exc.report
        click.echo("\n".join(report.lines()))
        raise click.ClickException(str(exc)) from None
    click.echo("\n".join(report.lines()))
    if not report.ok:
        sys.exit(1)


def _import_ics(file: Path, dry_run: bool) -> None:
    from meetings import importing

    try:
        plan = importing.plan(file.read_bytes()) if dry_run else importing.apply(file.read_bytes(), actor=None)
    except (importing.IcsError, importing.ImportRefused) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    if not dry_run:
        db.session.commit()
    click.echo("\n".join(plan.lines))
    if plan.meeting is not None and not dry_run:
        click.echo(f"meeting {plan.meeting.id}: {plan.meeting.uid} ({plan.meeting.status.value})")


@cli.command("seed-scale")
@click.option("--seed", default=20261125, show_default=True, help="Random seed: the same seed gives the same data.")
@click.option("--only", type=click.Choice(["all", "network", "partners"]), default="all", show_default=True,
              help="network: the registry's data set; partners: its contacts data set; all: both.")
@with_appcontext
def seed_scale(seed, only):
    """Add the benchmark data set: 2,000 partners and relationships, 5,000 agreements, 200 embassies and
    20 networks of 100 members, all marked as sample; and 20,000 contacts at 3,000 organisations with 100,000
    interactions. Needs reference data (kizuna load-reference)."""
    import network.scale
    import partners.scale
    from network.services import NetworkError
    from partners.services import PartnersError

    counts = {}
    try:
        if only in ("all", "network"):
            counts.update(network.scale.seed_scale(seed=seed))
        if only in ("all", "partners"):
            counts.update(partners.scale.seed_scale(seed=seed))
    except (NetworkError, PartnersError) as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(", ".join(f"{n:,} {what}" for what, n in counts.items()))


@cli.command("sweep-outbox")
@with_appcontext
def sweep_outbox():
    """Re-enqueue outbox messages left queued or stuck in sending (what the beat task does)."""
    from . import outbox

    ids = outbox.sweep()
    click.echo(f"Re-enqueued {len(ids)} messages.")


def init_app(app: Flask) -> None:
    """Commands that need the app are registered here as well, for `flask --app kizuna`."""
    for command in (create_user, create_api_token, import_file, seed_scale, sweep_outbox):
        app.cli.add_command(command)


if __name__ == "__main__":
    main()
