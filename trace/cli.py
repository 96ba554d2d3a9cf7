"""`flask --app trace …` commands; they read the same environment as the web app."""
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlmodel import select

from .clock import today, zone_name
from .db import session_scope, upgrade
from .models import LabelRun, User
from .services import accounts, capture, epcis, event_hash, keys, labels, layouts, lineage, lots, reports, safety
from .services.errors import NotFound, ValidationError
from .services.gs1 import normalize_gtin
from .services.issuance import verify_many
from .services.units import plain


@contextmanager
def refused_as_click_error():
    """A service's refusal, as the command's error message (exit 1)."""
    try:
        yield
    except ValidationError as exc:
        raise click.ClickException("; ".join(exc.errors.values())) from None
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None


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
    """Create the demo Thủy Nguyên ward (idempotent) and print its logins and their password."""
    from .services.demo import create_demo
    if not current_app.config["TRACE_DEMO"]:
        click.echo("The demo is turned off (TRACE_DEMO=0): no demo accounts are created.")
        return
    upgrade(_engine())
    password = _demo_password(Path(current_app.config["TRACE_DEMO_PASSWORD_FILE"]))
    with session_scope(_engine()) as session:
        created, users = create_demo(session, _store(), current_app.config["TRACE_BASE_URL"], password)
    click.echo("Demo ward created." if created else "Demo ward already present; nothing changed.")
    click.echo(f"Demo logins (password for all: {password}):")
    for email, role, organization in users:
        click.echo(f"  {email:<28} {role:<10} {organization}")


def _demo_password(path: Path) -> str:
    """The demo accounts' password: made at random on first start and kept (0600) in instance/ to print again."""
    from .services.demo import new_password
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(new_password())
    return path.read_text().strip()


users_group = AppGroup("users", help="Accounts.")


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True)
@click.option("--organization", "organization_id", type=int,
              help="The organization's id (default for admin and inspector: the ward's own office).")
@click.option("--name", default="", help="The person's name.")
def users_create(email: str, role: str, organization_id, name: str):
    """Open an account and print a one-time link to set its password (the first administrator starts here)."""
    with session_scope(_engine()) as session, refused_as_click_error():
        organization = accounts.organization_for_new_user(session, organization_id, role)
        user, token = accounts.open_account(session, organization, email, role, name)
    click.echo(f"Account {user.email} ({role}) in {organization.name}.")
    click.echo(f"Set its password within {accounts.LINK_LIFETIME['reset'].days} days at: {_link_url(token)}")


@users_group.command("list")
def users_list():
    """Every account, one a line: id, e-mail, role, organization, and whether it is disabled."""
    with session_scope(_engine()) as session:
        for user, organization in accounts.all_users(session):
            state = "disabled" if user.disabled_at else "active"
            click.echo(f"{user.id}\t{user.email}\t{user.role}\t{organization.name}\t{state}")


@users_group.command("reset-password")
@click.argument("email")
def users_reset_password(email: str):
    """End every login of the account and print a one-time link to set a new password."""
    with session_scope(_engine()) as session, refused_as_click_error():
        user = accounts.user_by_email(session, email)
        token = accounts.reset_password(session, None, user)
    click.echo(f"Every login of {user.email} has ended. New password within "
               f"{accounts.LINK_LIFETIME['reset'].days} days at: {_link_url(token)}")


def _link_url(token: str) -> str:
    return f"{current_app.config['TRACE_BASE_URL']}/welcome/{token}"


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
    """One key a line, tab-separated: kid, status, created, retired, revoked, revocation reason."""
    with session_scope(_engine()) as session:
        keys.sync_from_disk(session, _store())
        for entry in keys.jwks(session, _store())["keys"]:
            click.echo("\t".join(str(entry[name] or "-") for name in
                                 ("kid", "status", "created", "retired", "revoked", "revoke_reason")))


@keys_group.command("rotate")
def keys_rotate():
    """A new key signs from now on; the active keys before it are retired (their labels stay genuine)."""
    with session_scope(_engine()) as session:
        row = keys.rotate(session, _store())
    click.echo(f"Key {row.kid} signs new labels from now on; earlier keys are retired.")


@keys_group.command("revoke")
@click.argument("kid")
@click.option("--reason", required=True, help="Why (published with the key).")
def keys_revoke(kid: str, reason: str):
    """Revoke key KID: its labels verify as revoked_key from now on."""
    with refused_as_click_error():
        with session_scope(_engine()) as session:
            row = keys.revoke(session, _store(), kid, reason)
    click.echo(f"Key {row.kid} revoked. Labels it signed now verify as revoked_key; new labels use another key.")


lots_group = AppGroup("lots", help="Lots.")


@lots_group.command("list")
def lots_list():
    """One lot a line, tab-separated: GTIN, lot code, product name, quantity, unit."""
    with session_scope(_engine()) as session:
        for lot, product in lots.list_lots(session):
            click.echo("\t".join([product.gtin, lot.code, product.name_vi, str(lot.quantity), lot.unit]))


labels_group = AppGroup("labels", help="QR labels.")


def _layout_option(function):
    return click.option("--layout", default=layouts.DEFAULT_LAYOUT, show_default=True,
                        type=click.Choice(list(layouts.LAYOUTS)), help="Sheet or roll (see: labels layouts).")(function)


@labels_group.command("issue")
@click.argument("gtin")
@click.argument("lot_code")
@click.option("--count", type=int, required=True, help="How many labels.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output file: .pdf (the layout's pages), .csv (serial, URL), or .png (one label a serial: "
                   "FILE-SERIAL.png when several)")
@_layout_option
@click.option("--dpi", type=click.IntRange(72, 1200), default=300, show_default=True, help="For .png.")
@click.option("--over-issue-reason", help="Needed to issue more labels than the lot holds; kept on the run.")
def labels_issue(gtin: str, lot_code: str, count: int, out: Path, layout: str, dpi: int, over_issue_reason):
    """Issue COUNT new labels for the lot GTIN + LOT_CODE and write them to OUT.

    The run is issued only once OUT is complete: stopped half-way, it leaves nothing that verifies."""
    _check_suffix(out)
    with session_scope(_engine()) as session:
        lot = _lot_of(session, gtin, lot_code)
        with refused_as_click_error():
            run = labels.issue_labels(session, _store(), lot, count, over_issue_reason=over_issue_reason, pending=True)
        run_id = run.id
    with session_scope(_engine()) as session:
        run = session.get(LabelRun, run_id)
        _write_labels(session, run, range(run.first_serial, run.last_serial + 1), out, layout, dpi)
        labels.confirm_run(session, run)
    click.echo(f"Issued {run.count:,} labels, serials {run.first_serial}–{run.last_serial} of lot {lot_code} "
               f"(run {run.id}); wrote {out}.")


@labels_group.command("reprint")
@click.argument("run_id", type=int)
@click.option("--first", type=int, help="First serial (default: the run's first).")
@click.option("--last", type=int, help="Last serial (default: the run's last).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help=".pdf, .csv or .png")
@_layout_option
@click.option("--dpi", type=click.IntRange(72, 1200), default=300, show_default=True, help="For .png.")
def labels_reprint(run_id: int, first, last, out: Path, layout: str, dpi: int):
    """Write a run's labels again, whole or a serial range: the same URLs as before."""
    _check_suffix(out)
    with session_scope(_engine()) as session:
        run = session.get(LabelRun, run_id)
        if run is None or run.status != "issued":
            raise click.ClickException(f"No issued label run {run_id}.")
        with refused_as_click_error():
            serials = labels.serial_range(run, first, last)
        _write_labels(session, run, serials, out, layout, dpi)
    click.echo(f"Wrote serials {serials.start}–{serials.stop - 1} of run {run_id} to {out}.")


@labels_group.command("cancel")
@click.argument("run_id", type=int)
@click.option("--reason", required=True, help="Misprint, destroyed sheet…")
def labels_cancel(run_id: int, reason: str):
    """Cancel a run: its labels verify as cancelled from now on."""
    with session_scope(_engine()) as session:
        run = session.get(LabelRun, run_id)
        if run is None:
            raise click.ClickException(f"No label run {run_id}.")
        with refused_as_click_error():
            labels.cancel_run(session, run, reason)
    click.echo(f"Run {run_id} cancelled: serials {run.first_serial}–{run.last_serial} now verify as cancelled.")


@labels_group.command("layouts")
def labels_layouts():
    """One layout a line: name, labels per page, label size, page size."""
    for layout in layouts.LAYOUTS.values():
        click.echo(f"{layout.name}\t{layout.per_page}\t{layout.label_w:g} × {layout.label_h:g} mm\t"
                   f"{layout.page_w:g} × {layout.page_h:g} mm\t{layout.title}")


def _check_suffix(out: Path) -> None:
    if out.suffix.lower() not in (".csv", ".png", ".pdf"):
        raise click.UsageError("--out must end in .csv, .png or .pdf")


def _lot_of(session, gtin: str, lot_code: str):
    try:
        gtin14 = normalize_gtin(gtin)
    except ValidationError as exc:
        raise click.UsageError(exc.errors["gtin"]) from None
    lot = lots.find_lot(session, gtin14, lot_code)
    if lot is None:
        raise click.ClickException(f"No lot {lot_code!r} of GTIN {gtin14}.")
    return lot


def _write_labels(session, run, serials: range, out: Path, layout: str, dpi: int) -> None:
    """Write to a temporary file beside OUT and rename it when complete: OUT is never half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    base_url, suffix = current_app.config["TRACE_BASE_URL"], out.suffix.lower()
    if suffix == ".png":
        sheet = layouts.RunSheet.of(session, _store(), base_url, run, today())
        for serial in serials:
            target = out if len(serials) == 1 else out.with_name(f"{out.stem}-{serial}{out.suffix}")
            target.write_bytes(layouts.render_png(sheet, serial, layouts.LAYOUTS[layout], dpi))
        return
    partial = out.with_name(f".{out.name}.part")
    with partial.open("wb") as f:
        if suffix == ".csv":
            f.writelines(line.encode() for line in labels.csv_lines(session, _store(), base_url, run, serials))
        else:
            layouts.write_pdf(f, layouts.RunSheet.of(session, _store(), base_url, run, today()), serials,
                              layouts.LAYOUTS[layout])
    partial.replace(out)


@click.command("verify")
@with_appcontext
@click.argument("urls", nargs=-1)
@click.option("--file", "url_file", type=click.File("r", encoding="utf-8"),
              help="Read URLs from this file, one a line ('-' for standard input).")
@click.option("--jwks", "jwks_source", help="Verify offline against this JWKS (a file, or its https URL); "
                                            "no database used.")
@click.option("--origin", help="Offline: the base URL labels are issued under (default: from a JWKS URL).")
def verify(urls, url_file, jwks_source, origin):
    """Verify label URLs: one verdict a line. Exit 0 when every label is genuine, 1 otherwise."""
    urls = list(urls) + ([line.strip() for line in url_file if line.strip()] if url_file else [])
    if not urls:
        raise click.UsageError("Give label URLs as arguments or with --file.")
    if jwks_source is not None:
        from .offline import OfflineError, load_jwks, verify_offline
        try:
            document, origin = load_jwks(jwks_source, origin)
        except OfflineError as exc:
            raise click.ClickException(str(exc)) from None
        results = verify_offline(urls, document, origin)
    else:
        from . import label_bases
        with session_scope(_engine()) as session:
            results = verify_many(session, urls, keys.keyset(session, _store()), label_bases(current_app))
    _print_verdicts(urls, results)
    sys.exit(0 if all(result.genuine for result in results) else 1)


def _print_verdicts(urls: list, results: list) -> None:
    if len(urls) == 1:
        click.echo(f"{results[0].status}: {results[0].reason}")
        link = results[0].link
        if link is not None and link.lot is not None:
            click.echo(f"GTIN {link.gtin}  lot {link.lot}  serial {link.serial}")
        return
    for url, result in zip(urls, results):
        click.echo(f"{result.status}\t{url}\t{result.reason}")


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
        with refused_as_click_error():
            recall = safety.recall_lot(session, lot, {"reason": reason})
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
    except (json.JSONDecodeError, AttributeError, TypeError, IndexError):
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
            result = capture.capture(session, user, document, zone_name())
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
            history = reports.events_between(session, start.date(), end.date(), zone_name(), None)
            title = f"{start.date()} – {end.date()}"
        else:
            raise click.UsageError("Give GTIN and LOT (or a label URL), or --from and --to.")
        rows = reports.cte_rows(session, history)
    out.write_bytes(reports.spreadsheet_csv(rows) if out.suffix.lower() == ".csv" else reports.spreadsheet_xlsx(rows, title))
    click.echo(f"Wrote {len(rows)} rows to {out}.")


tokens_group = AppGroup("tokens", help="API tokens.")


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="What the token is for, e.g. 'shop till 2'.")
def tokens_create(email: str, name: str):
    """Create an API token for the user and print it (shown once; only its hash is stored)."""
    with session_scope(_engine()) as session, refused_as_click_error():
        try:
            token = accounts.create_token(session, email, name)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(token)


@tokens_group.command("list")
def tokens_list():
    """Every API token, one a line: id, owner, name, first characters, created, last used, revoked."""
    with session_scope(_engine()) as session:
        for token, user in accounts.tokens(session):
            when = [_minute(token.created_at), _minute(token.last_used_at) or "never used",
                    f"revoked {_minute(token.revoked_at)}" if token.revoked_at else "active"]
            click.echo("\t".join([str(token.id), user.email, token.name or "-", token.prefix + "…", *when]))


def _minute(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


@tokens_group.command("revoke")
@click.argument("token_id")
def tokens_revoke(token_id: str):
    """Stop a token working at once (its id is the first column of 'tokens list')."""
    with session_scope(_engine()) as session, refused_as_click_error():
        token = accounts.revoke_token(session, token_id)
    click.echo(f"Token {token.id} ({token.prefix}…) is revoked.")


def register(app) -> None:
    for command in (init_db, demo, users_group, keys_group, lots_group, labels_group, verify, tokens_group, trace_command,
                    recall_command, epcis_group, report_command):
        app.cli.add_command(command)


