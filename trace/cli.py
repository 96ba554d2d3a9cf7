"""`flask --app trace …` commands; they read the same environment as the web app."""
import csv
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlmodel import select

from .db import session_scope, upgrade
from .models import User
from .services import accounts, capture, epcis, event_hash, keys, labels, lineage, lots, reports, safety
from .services.errors import NotFound, ValidationError
from .services.gs1 import normalize_gtin
from .services.units import plain
from .services.verification import verify_against_database, verify_label


def _engine():
    return current_app.extensions["trace.engine"]


def _store():
    from . import key_store
    return key_store(current_app)


@click.command("init-db")
@with_appcontext
def init_db():
    """Create or upgrade the database schema (Alembic migrations)."""
    upgrade(_engine())
    click.echo("Database is at the latest schema.")


@click.command("demo")
@with_appcontext
def demo():
    """Create the demo Thủy Nguyên ward (idempotent) and print its logins."""
    from .services.demo import DEMO_PASSWORD, create_demo
    upgrade(_engine())
    with session_scope(_engine()) as session:
        created, users = create_demo(session, _store(), current_app.config["TRACE_BASE_URL"])
    click.echo("Demo ward created." if created else "Demo ward already present; nothing changed.")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role, organization in users:
        click.echo(f"  {email:<28} {role:<10} {organization}")


keys_group = AppGroup("keys", help="Signing keys.")


@keys_group.command("generate")
def keys_generate():
    """Generate a new active Ed25519 signing key."""
    with session_scope(_engine()) as session:
        row = keys.generate_key(session, _store())
        click.echo(f"Generated key {row.kid} ({_store().path(row.kid)}).")


@keys_group.command("ensure")
def keys_ensure():
    """Make sure a usable signing key exists (creates one if none)."""
    with session_scope(_engine()) as session:
        row = keys.ensure_signing_key(session, _store())
        click.echo(f"Signing with key {row.kid}.")


@keys_group.command("list")
def keys_list():
    with session_scope(_engine()) as session:
        for entry in keys.jwks(session)["keys"]:
            click.echo(f"{entry['kid']}\t{entry['status']}\t{entry['created']}\t{entry['x']}")


lots_group = AppGroup("lots", help="Lots.")


@lots_group.command("list")
def lots_list():
    """One lot a line, tab-separated: GTIN, lot code, product name, quantity, unit."""
    with session_scope(_engine()) as session:
        for lot, product in lots.list_lots(session):
            click.echo("\t".join([product.gtin, lot.code, product.name_vi, str(lot.quantity), lot.unit]))


labels_group = AppGroup("labels", help="QR labels.")


@labels_group.command("issue")
@click.argument("gtin")
@click.argument("lot_code")
@click.option("--count", type=int, required=True, help="How many labels.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output file: .csv (serial, URL), .png (one label per serial: FILE-SERIAL.png if several), .pdf")
def labels_issue(gtin: str, lot_code: str, count: int, out: Path):
    """Issue COUNT new labels for the lot GTIN + LOT_CODE and write them to OUT."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".png", ".pdf"):
        raise click.UsageError("--out must end in .csv, .png or .pdf")
    try:
        gtin14 = normalize_gtin(gtin)
    except ValidationError as exc:
        raise click.UsageError(exc.errors["gtin"]) from None
    with session_scope(_engine()) as session:
        lot = lots.find_lot(session, gtin14, lot_code)
        if lot is None:
            raise click.ClickException(f"No lot {lot_code!r} of GTIN {gtin14}.")
        try:
            run = labels.issue_labels(session, _store(), lot, count)
        except ValidationError as exc:
            raise click.ClickException("; ".join(exc.errors.values())) from None
        items = labels.labels_for_run(session, _store(), current_app.config["TRACE_BASE_URL"], run)
        _write_labels(items, out, suffix)
    click.echo(f"Issued serials {run.first_serial}–{run.last_serial} of lot {lot_code}; wrote {out}.")


def _write_labels(items: list, out: Path, suffix: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            for item in items:
                writer.writerow([item.serial, item.url])
    elif suffix == ".pdf":
        out.write_bytes(labels.render_pdf(items, title=f"{items[0].product_name} – {items[0].lot_code}"))
    elif len(items) == 1:
        out.write_bytes(labels.render_png(items[0]))
    else:
        for item in items:
            out.with_name(f"{out.stem}-{item.serial}{out.suffix}").write_bytes(labels.render_png(item))


@click.command("verify")
@with_appcontext
@click.argument("url")
@click.option("--jwks", "jwks_file", type=click.File("r"), help="Verify offline against this JWKS; no database used.")
def verify(url: str, jwks_file):
    """Verify a label URL. Exit 0 when genuine, 1 otherwise; prints why."""
    if jwks_file is not None:
        try:
            keyset = keys.keyset_from_jwks(json.load(jwks_file))
        except (json.JSONDecodeError, AttributeError):
            raise click.ClickException("The JWKS file is not a JSON key set.") from None
        result = verify_label(url, keyset)
    else:
        with session_scope(_engine()) as session:
            result = verify_against_database(session, url, keys.keyset_from_database(session))
    click.echo(f"{result.status}: {result.reason}")
    if result.link is not None and result.link.lot is not None:
        click.echo(f"GTIN {result.link.gtin}  lot {result.link.lot}  serial {result.link.serial}")
    sys.exit(0 if result.genuine else 1)


def _find_lot(session, gtin_or_url: str, lot_code: str | None):
    """A lot by GTIN and lot code, or by a label's URL (its serial names the lot it was issued for)."""
    try:
        return lots.find_lot_named(session, gtin_or_url, lot_code)
    except ValidationError as exc:
        raise click.UsageError("; ".join(exc.errors.values())) from None
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None


@click.command("trace")
@with_appcontext
@click.argument("gtin_or_url")
@click.argument("lot_code", required=False)
@click.option("--direction", type=click.Choice(["back", "forward"]), default="back", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON instead of a tree.")
def trace_command(gtin_or_url: str, lot_code: str | None, direction: str, as_json: bool):
    """Trace a lot (GTIN LOT, or a label URL) back to its sources or forward to where it went."""
    with session_scope(_engine()) as session:
        result = lineage.trace(session, _find_lot(session, gtin_or_url, lot_code), direction)
        if as_json:
            click.echo(json.dumps(lineage.trace_json(result), ensure_ascii=False, indent=2))
        else:
            for line in lineage.trace_tree(result):
                click.echo(line)


@click.command("recall")
@with_appcontext
@click.argument("gtin")
@click.argument("lot_code")
@click.option("--reason", required=True, help="Why, as the affected organizations will read it.")
def recall_command(gtin: str, lot_code: str, reason: str):
    """Recall a lot and every lot made from it; prints who received what."""
    with session_scope(_engine()) as session:
        lot = _find_lot(session, gtin, lot_code)
        try:
            recall = safety.recall_lot(session, lot, {"reason": reason})
        except ValidationError as exc:
            raise click.ClickException("; ".join(exc.errors.values())) from None
        rows = safety.recall_notice(session, recall)
    click.echo(f"Recall {recall.id}: {len({row.lot.id for row in rows})} lots.")
    for row in rows:
        quantity = plain(row.quantity) or ""
        click.echo(f"  {row.role:<9} {row.organization.name}: {row.product.gtin} {row.lot.code} {quantity} {row.unit}"
                   + (f" ({row.reference})" if row.reference else ""))


epcis_group = AppGroup("epcis", help="EPCIS 2.0 documents: export, capture, event hash IDs.")


@epcis_group.command("export")
@click.argument("gtin_or_url")
@click.argument("lot_code", required=False)
@click.option("--direction", type=click.Choice(["back", "forward"]), default="back", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="FILE.jsonld")
def epcis_export(gtin_or_url: str, lot_code: str | None, direction: str, out: Path):
    """Write the events of a lot and its chain (back or forward) as an EPCISDocument."""
    with session_scope(_engine()) as session:
        lot = _find_lot(session, gtin_or_url, lot_code)
        result = lineage.trace(session, lot, direction)
        events = epcis.select_events(session, event_ids=result.event_ids(), limit=1_000_000)
        document = epcis.document(epcis.export_events(session, events))
    out.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    click.echo(f"Wrote {len(events)} events of {len(result.lots)} lots to {out}.")


@epcis_group.command("hash")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def epcis_hash(file):
    """Print the CBV 2.0 hash ID of each event of an EPCISDocument, one a line, in document order."""
    try:
        document = json.load(file)
        ids = event_hash.document_hash_ids(document)
    except (json.JSONDecodeError, AttributeError, TypeError):
        raise click.ClickException("The file is not an EPCISDocument in JSON.") from None
    for hash_id in ids:
        click.echo(hash_id)


@epcis_group.command("capture")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--as", "email", required=True, help="The user the events are recorded by (their organization's).")
def epcis_capture(file, email: str):
    """Record an EPCISDocument's events, all or nothing, as the user would by hand."""
    try:
        document = json.load(file)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"Not JSON: {exc}") from None
    with session_scope(_engine()) as session:
        user = session.exec(select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            raise click.ClickException(f"No user {email}.")
        try:
            result = capture.capture(session, user, document, current_app.config["TRACE_TIMEZONE"])
        except capture.CaptureError as exc:
            for item in exc.problems:
                click.echo(json.dumps(item, ensure_ascii=False), err=True)
            raise click.ClickException(f"Refused: {len(exc.problems)} problem(s); nothing recorded.") from None
    click.echo(f"Recorded {len(result.recorded)} events; {len(result.skipped)} were already recorded.")


@click.command("report")
@with_appcontext
@click.argument("gtin_or_url", required=False)
@click.argument("lot_code", required=False)
@click.option("--direction", type=click.Choice(["back", "forward"]), default="back", show_default=True)
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day of a date range.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day of a date range.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="FILE.xlsx or FILE.csv")
def report_command(gtin_or_url, lot_code, direction, start, end, out: Path):
    """The FSMA 204 sortable spreadsheet: for a lot and its chain, or for every event of a date range."""
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise click.UsageError("--out must end in .xlsx or .csv")
    with session_scope(_engine()) as session:
        if gtin_or_url:
            lot = _find_lot(session, gtin_or_url, lot_code)
            history, title = lineage.trace(session, lot, direction).events, f"{lot.code} ({direction})"
        elif start and end:
            history = reports.events_between(session, start.date(), end.date(), current_app.config["TRACE_TIMEZONE"], None)
            title = f"{start.date()} – {end.date()}"
        else:
            raise click.UsageError("Give GTIN and LOT (or a label URL), or --from and --to.")
        rows = reports.cte_rows(session, history)
    out.write_bytes(reports.spreadsheet_csv(rows) if out.suffix.lower() == ".csv" else reports.spreadsheet_xlsx(rows, title))
    click.echo(f"Wrote {len(rows)} rows to {out}.")


tokens_group = AppGroup("tokens", help="API tokens.")


@tokens_group.command("create")
@click.argument("email")
def tokens_create(email: str):
    """Create an API token for the user and print it (shown once; only its hash is stored)."""
    with session_scope(_engine()) as session:
        try:
            token = accounts.create_token(session, email)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(token)


def register(app) -> None:
    for command in (init_db, demo, keys_group, lots_group, labels_group, verify, tokens_group, trace_command,
                    recall_command, epcis_group, report_command):
        app.cli.add_command(command)


