"""The CLI contract: lots list, labels issue (csv/png/pdf), verify (online and offline), tokens, keys, demo."""
import csv
import json
from trace.db import get_session
from trace.models import LabelRun

import pytest
import zxingcpp
from PIL import Image
from sqlmodel import func, select


@pytest.fixture
def cli(demo_app):
    runner = demo_app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def test_lots_list_is_tab_separated(cli):
    result = cli("lots", "list")
    assert result.exit_code == 0
    rows = [line.split("\t") for line in result.output.strip().splitlines()]
    assert ["08936045000014", "GAO-BH-2610A", "Gạo Bắc Hương Thủy Nguyên", "18500.000", "kg"] in rows
    assert all(len(row) == 5 for row in rows) and len(rows) == 13


def test_labels_issue_writes_csv_png_and_pdf(cli, tmp_path):
    out = tmp_path / "labels.csv"
    result = cli("labels", "issue", "08936045000014", "GAO-BH-2610A", "--count", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    header, *rows = list(csv.reader(out.open()))
    assert header == ["serial", "url"]
    assert len(rows) == 3 and all(url.startswith("http://trace.test/01/08936045000014/10/GAO-BH-2610A/21/") for _, url in rows)
    assert [int(serial) for serial, _ in rows] == list(range(int(rows[0][0]), int(rows[0][0]) + 3))
    png = tmp_path / "one.png"
    assert cli("labels", "issue", "8936045000014", "GAO-BH-2610A", "--count", "1", "--out", str(png)).exit_code == 0
    assert zxingcpp.read_barcodes(Image.open(png))[0].text.startswith("http://trace.test/01/08936045000014/")
    pdf = tmp_path / "sheet.pdf"
    assert cli("labels", "issue", "08936045000014", "GAO-BH-2610A", "--count", "4", "--out", str(pdf)).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("args,exit_code,error", [
    (["08936045000018", "GAO-BH-2610A", "--count", "1", "--out", "x.csv"], 2,
     "The GTIN check digit is wrong: it should be 4."),
    (["08936045000014", "NO-LOT", "--count", "1", "--out", "x.csv"], 1, "No lot 'NO-LOT' of GTIN 08936045000014."),
    (["08936045000014", "GAO-BH-2610A", "--count", "0", "--out", "x.csv"], 1,
     "Issue between 1 and 100,000 labels at a time."),
    (["08936045000014", "GAO-BH-2610A", "--count", "1", "--out", "x.txt"], 2, "--out must end in .csv, .png or .pdf"),
])
def test_labels_issue_refuses_bad_input(cli, demo_app, args, exit_code, error, tmp_path, monkeypatch):
    """Exit 2 for a usage mistake, 1 for a refusal; the message is the last line; nothing is written or issued."""
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path / "out")
    with demo_app.app_context():
        before = get_session().exec(select(func.count()).select_from(LabelRun)).one()
    result = cli("labels", "issue", *args)
    assert (result.exit_code, result.output.splitlines()[-1]) == (exit_code, f"Error: {error}")
    assert list((tmp_path / "out").iterdir()) == []
    with demo_app.app_context():
        assert get_session().exec(select(func.count()).select_from(LabelRun)).one() == before


def test_verify_online_gives_each_status_its_line_and_exit_code(cli, demo_app):
    """One verdict line, 'status: reason', and exit 0 for a genuine label only."""
    from .test_labels import a_url_of_each_status
    for status, (url, _kid, reason) in a_url_of_each_status(demo_app).items():
        result = cli("verify", url)
        assert (result.exit_code, result.output.splitlines()[0]) == (0 if status == "genuine" else 1,
                                                                      f"{status}: {reason}"), status


def test_verify_offline_with_exit_codes(cli, demo_client, tmp_path):
    out = tmp_path / "l.csv"
    cli("labels", "issue", "08936045000014", "GAO-BH-2610A", "--count", "1", "--out", str(out))
    url = list(csv.reader(out.open()))[1][1]
    serial = url.split("/21/")[1].split("?")[0]
    jwks = tmp_path / "jwks.json"
    jwks.write_text(demo_client.get("/.well-known/jwks.json").get_data(as_text=True))
    origin = ("--origin", "http://trace.test")
    offline = cli("verify", url, "--jwks", str(jwks), *origin)
    assert (offline.exit_code, offline.output) == (
        0, f"genuine: signature valid (key 1)\nGTIN 08936045000014  lot GAO-BH-2610A  serial {serial}\n")
    tampered = cli("verify", url.replace("/21/", "/21/9"), "--jwks", str(jwks), *origin)
    assert (tampered.exit_code, tampered.output.splitlines()[0]) == (
        1, "tampered: the signature does not match the GTIN, lot and serial (key 1)")
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"keys": []}))
    unknown = cli("verify", url, "--jwks", str(empty), *origin)
    assert (unknown.exit_code, unknown.output.splitlines()[0]) == (1, "unknown_key: key 1 is not a published key")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = cli("verify", url, "--jwks", str(broken), *origin)
    assert (result.exit_code, result.output) == (1, "Error: The JWKS file is not a JSON key set.\n")
    hello = cli("verify", "hello")
    assert (hello.exit_code, hello.output) == (1, "malformed: not a label URL: not an http(s) URL with a host\n")


def test_tokens_create_prints_a_token_that_works(cli, demo_client):
    result = cli("tokens", "create", "htx.lua@demo.vn")
    token = result.output.strip()
    assert result.exit_code == 0 and token.startswith("trc_")
    assert demo_client.get("/api/v1/lots", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    unknown = cli("tokens", "create", "nobody@demo.vn")
    assert (unknown.exit_code, unknown.output) == (1, "Error: no user with e-mail nobody@demo.vn\n")


def test_demo_is_idempotent_and_prints_logins(cli):
    result = cli("demo")
    assert result.exit_code == 0 and "already present" in result.output and "htx.lua@demo.vn" in result.output
    assert len(cli("lots", "list").output.strip().splitlines()) == 13


def test_keys_generate_adds_a_key_to_the_jwks(cli, demo_client):
    assert cli("keys", "generate").exit_code == 0
    kids = [k["kid"] for k in demo_client.get("/.well-known/jwks.json").get_json()["keys"]]
    assert kids == ["1", "2"]


def test_trace_prints_the_chain_as_a_tree_with_what_each_link_moved(cli, demo_client, demo_app):
    from .conftest import lot_named
    from .test_api import ago, token_for
    from .test_lineage import org_id
    with demo_app.app_context():
        session = get_session()
        made = {code: lot_named(session, code).produced_on.isoformat() for code in
                ("TOM-A3-2608", "TOM-A7-2611", "TND-2611-01", "TK-2611-01")}
    pond3 = (f"Tôm thẻ chân trắng Bạch Đằng [08936048000011 / TOM-A3-2608] 7800 kg, {made['TOM-A3-2608']} – "
             "Công ty TNHH Thủy sản nước lợ Bạch Đằng @ Ao nuôi số 3 (bán thâm canh)")
    frozen = (f"Tôm thẻ nõn đông lạnh Minh Đức [08936049000027 / TND-2611-01] 980 kg, {made['TND-2611-01']} – "
              "Công ty CP Chế biến Thực phẩm Minh Đức @ Xưởng chế biến Minh Đức")
    back = cli("trace", "08936049000027", "TND-2611-01")
    assert back.exit_code == 0 and back.output.splitlines() == [
        frozen, f"└─ (used, 500 kg) {pond3}",
        f"└─ (used, 1200 kg) Tôm thẻ chân trắng Bạch Đằng [08936048000011 / TOM-A7-2611] 5400 kg, {made['TOM-A7-2611']} "
        "– Công ty TNHH Thủy sản nước lợ Bạch Đằng @ Ao lót bạt số 7 (thâm canh công nghệ cao)"]
    processor = token_for(demo_app, "chebien@demo.vn")
    shipped = demo_client.post("/api/v1/shipments", headers=processor, json={
        "to_organization_id": org_id(demo_app, "sieuthi@demo.vn"), "reference_type": "inv", "reference": "HĐ-77",
        "time": ago(0.1), "lines": [{"gtin": "08936049000027", "lot": "TND-2611-01", "quantity": "120.5"}]})
    assert shipped.status_code == 201, shipped.get_json()
    forward = cli("trace", "08936048000011", "TOM-A3-2608", "--direction", "forward")
    assert forward.exit_code == 0 and forward.output.splitlines() == [
        pond3,
        "→ shipped 800 kg to Công ty CP Chế biến Thực phẩm Minh Đức (inv HĐ-0004521; received 800 kg)",
        f"└─ (made into, 300 kg) Tôm khô Minh Đức [08936049000034 / TK-2611-01] 60 kg, {made['TK-2611-01']} – "
        "Công ty CP Chế biến Thực phẩm Minh Đức @ Xưởng chế biến Minh Đức",
        f"└─ (made into, 500 kg) {frozen}",
        "   → shipped 120.5 kg to Siêu thị Nông sản sạch Thủy Nguyên (inv HĐ-77; in transit)"]
