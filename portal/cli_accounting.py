"""Accounting commands (issue 24 parts 4-5), on the `statements` group:
flask --app portal statements export-postings --year Y --month M [--out FILE]
flask --app portal statements payout-fee SLUG --share PERCENT --fixed KRONER"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import click
from flask import current_app
from sqlalchemy import select

from portal.cli_statements import statements_group


@statements_group.command("export-postings")
@click.option("--year", type=click.IntRange(2000, 2100), required=True)
@click.option("--month", type=click.IntRange(1, 12), required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the CSV to this file (default: standard output).")
def export_postings(year: int, month: int, out: str | None) -> None:
    """The month's postings (statements, credit notes, payments, payouts) as CSV for the bookkeeper."""
    from portal.services.billing.postings import postings, postings_csv

    with current_app.extensions["portal_db"].session() as session:
        text = postings_csv(postings(session, year, month, current_app.config["OPERATOR_ORG_NUMBER"]))
    if out:
        with open(out, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        click.echo(f"postings for {year:04d}-{month:02d} written to {out}")
    else:
        click.echo(text, nl=False)


@statements_group.command("payout-fee")
@click.argument("slug")
@click.option("--share", default="0", help="The operator's share of what residents paid, in percent (e.g. 7.5).")
@click.option("--fixed", default="0", help="A fixed fee per month in kroner/kronor (e.g. 250,00).")
def payout_fee(slug: str, share: str, fixed: str) -> None:
    """Set the operator's fee at a site (staff only; the board sees it on its payout statement)."""
    from portal.models import Site
    from portal.services.billing.payouts import set_terms

    try:
        share_bp = int(Decimal(share.replace(",", ".")) * 100)
        fixed_minor = int(Decimal(fixed.replace(",", ".").replace(" ", "")) * 100)
    except InvalidOperation:
        raise click.ClickException("give --share and --fixed as numbers") from None
    if not 0 <= share_bp <= 10_000 or fixed_minor < 0:
        raise click.ClickException("--share goes from 0 to 100 and --fixed cannot be negative")
    with current_app.extensions["portal_db"].session() as session:
        site = session.scalar(select(Site).where(Site.slug == slug))
        if site is None:
            raise click.ClickException(f"no site {slug!r}")
        set_terms(session, site.id, share_bp, fixed_minor)
        session.commit()
    click.echo(f"{slug}: fee {share_bp / 100}% of what was paid + {fixed_minor} minor units per month")
