"""The CLI contract: lots list, labels issue (csv/png/pdf), verify (online and offline), tokens, keys, demo."""
import csv
import json

import pytest
import zxingcpp
from PIL import Image


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


@pytest.mark.parametrize("args,message", [
    (["08936045000018", "GAO-BH-2610A", "--count", "1", "--out", "x.csv"], "check digit"),
    (["08936045000014", "NO-LOT", "--count", "1", "--out", "x.csv"], "No lot"),
    (["08936045000014", "GAO-BH-2610A", "--count", "0", "--out", "x.csv"], "between 1 and"),
    (["08936045000014", "GAO-BH-2610A", "--count", "1", "--out", "x.txt"], ".csv, .png or .pdf"),
])
def test_labels_issue_refuses_bad_input(cli, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("labels", "issue", *args)
    assert result.exit_code != 0 and message in result.output
    assert not (tmp_path / "x.csv").exists()


def test_verify_online_and_offline_with_exit_codes(cli, demo_client, tmp_path):
    out = tmp_path / "l.csv"
    cli("labels", "issue", "08936045000014", "GAO-BH-2610A", "--count", "1", "--out", str(out))
    url = list(csv.reader(out.open()))[1][1]
    jwks = tmp_path / "jwks.json"
    jwks.write_text(demo_client.get("/.well-known/jwks.json").get_data(as_text=True))
    online = cli("verify", url)
    assert online.exit_code == 0 and online.output.startswith("genuine")
    origin = ("--origin", "http://trace.test")
    offline = cli("verify", url, "--jwks", str(jwks), *origin)
    assert offline.exit_code == 0 and offline.output.startswith("genuine: signature valid (key 1)")
    tampered = cli("verify", url.replace("/21/", "/21/9"), "--jwks", str(jwks), *origin)
    assert tampered.exit_code == 1 and tampered.output.startswith("tampered:")
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"keys": []}))
    assert cli("verify", url, "--jwks", str(empty), *origin).output.startswith("unknown_key:")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = cli("verify", url, "--jwks", str(broken), *origin)
    assert result.exit_code == 1 and "not a JSON key set" in result.output
    hello = cli("verify", "hello")
    assert hello.exit_code == 1 and hello.output.startswith("malformed: not a label URL")


def test_tokens_create_prints_a_token_that_works(cli, demo_client):
    result = cli("tokens", "create", "htx.lua@demo.vn")
    token = result.output.strip()
    assert result.exit_code == 0 and token.startswith("trc_")
    assert demo_client.get("/api/v1/lots", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert cli("tokens", "create", "nobody@demo.vn").exit_code != 0


def test_demo_is_idempotent_and_prints_logins(cli):
    result = cli("demo")
    assert result.exit_code == 0 and "already present" in result.output and "htx.lua@demo.vn" in result.output
    assert len(cli("lots", "list").output.strip().splitlines()) == 13


def test_keys_generate_adds_a_key_to_the_jwks(cli, demo_client):
    assert cli("keys", "generate").exit_code == 0
    kids = [k["kid"] for k in demo_client.get("/.well-known/jwks.json").get_json()["keys"]]
    assert kids == ["1", "2"]
