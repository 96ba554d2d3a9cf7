"""The producer's label pages: over-issue needs a confirmed reason, runs are cancelled and reprinted from their
page, files are rendered by the background worker (here the real `huey_consumer`, as ./scripts/serve runs it)."""
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from trace.db import get_session
from trace.models import LabelFile, LabelRun
from trace.queue import run_pending

import pypdfium2
import zxingcpp
from PIL import Image
from sqlmodel import Session, select

from .conftest import BASE_URL, field_errors, login, post_form

ROOT = Path(__file__).resolve().parent.parent
JSON = {"Accept": "application/json"}


def rice_lot_path(client) -> str:
    home = client.get("/producer/").get_data(as_text=True)
    return re.search(r'href="(/producer/lots/\d+)">GAO-BH-2610A<', home).group(1)


def test_over_issue_is_a_confirm_step_in_the_page(demo_app, demo_client):
    login(demo_client, "htx.lua@demo.vn")
    lot_path = rice_lot_path(demo_client)
    page = demo_client.get(lot_path).get_data(as_text=True)
    assert 'name="count" type="text" value="3676"' in page  # what the lot still holds
    asked = post_form(demo_client, lot_path, {"form": "labels", "count": "5000", "layout": "a4-3x8"})
    body = asked.get_data(as_text=True)
    assert asked.status_code == 422 and 'name="over_issue_reason"' in body and "Xác nhận và phát hành" in body
    assert "Lô có 3.700 đơn vị và đã phát hành 24 tem: thêm 5.000 tem thành 5.024." in body
    with demo_app.app_context():
        assert len(get_session().exec(select(LabelRun)).all()) == 9  # the demo's runs, nothing more
    done = post_form(demo_client, lot_path, {"form": "labels", "count": "5000", "layout": "a4-3x8",
                                             "over_issue_reason": "Đơn hàng xuất khẩu"}, form_page=lot_path)
    assert done.status_code == 302 and "/producer/label-files/" in done.headers["Location"]
    with demo_app.app_context():
        run = get_session().exec(select(LabelRun).order_by(LabelRun.id.desc())).first()
        assert (run.first_serial, run.last_serial, run.over_issue_reason) == (25, 5024, "Đơn hàng xuất khẩu")


def test_a_run_is_cancelled_and_reprinted_in_part_from_its_page(demo_app, demo_client):
    login(demo_client, "htx.lua@demo.vn")
    lot_path = rice_lot_path(demo_client)
    post_form(demo_client, lot_path, {"form": "labels", "count": "30", "layout": "a4-3x8"})
    run_pending(demo_app)
    with demo_app.app_context():
        run = get_session().exec(select(LabelRun).order_by(LabelRun.id.desc())).first()
    run_path = f"/producer/label-runs/{run.id}"
    refused = post_form(demo_client, run_path, {"form": "print", "layout": "roll-40x25", "first": "20", "last": "70"})
    assert refused.status_code == 422 and "Nhập số sê-ri từ 25 đến 54" in refused.get_data(as_text=True)
    again = post_form(demo_client, run_path, {"form": "print", "layout": "roll-40x25", "first": "30", "last": "32"})
    assert again.status_code == 302
    run_pending(demo_app)
    file_page = demo_client.get(again.headers["Location"]).get_data(as_text=True)
    pdf = demo_client.get(re.search(r'href="(/producer/label-files/\d+\.pdf)"', file_page).group(1)).data
    document = pypdfium2.PdfDocument(pdf)
    decoded = [zxingcpp.read_barcodes(document[i].render(scale=300 / 72).to_pil())[0].text for i in range(3)]
    assert [url.split("/21/")[1].split("?")[0] for url in decoded] == ["30", "31", "32"]
    assert demo_client.get(decoded[0], headers=JSON).get_json()["verification"]["status"] == "genuine"
    png = demo_client.get(f"{run_path}/png?serial=40&layout=roll-40x25&dpi=203", follow_redirects=True)
    assert png.mimetype == "image/png" and png.request.path == f"{run_path}/40.png"
    assert zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))[0].text.split("/21/")[1].startswith("40?")
    assert demo_client.get(f"{run_path}/png?serial=99").status_code == 404

    assert post_form(demo_client, run_path, {"form": "cancel", "cancel_reason": ""}).status_code == 422
    cancelled = post_form(demo_client, run_path, {"form": "cancel", "cancel_reason": "Kẹt giấy"})
    assert cancelled.status_code == 302
    assert demo_client.get(decoded[0], headers=JSON).get_json()["verification"]["status"] == "cancelled"
    page = demo_client.get(run_path).get_data(as_text=True)
    assert "Kẹt giấy" in page and 'value="print"' not in page  # nothing left to print
    other = demo_app.test_client()
    login(other, "thuysan@demo.vn")
    assert other.get(run_path).status_code == 404  # another producer's run does not exist for them


def test_the_real_worker_renders_a_requested_file(demo_app, demo_client, tmp_path):
    """huey_consumer in its own process, on the same queue and database, as ./scripts/serve starts it."""
    login(demo_client, "htx.lua@demo.vn")
    lot_path = rice_lot_path(demo_client)
    issued = post_form(demo_client, lot_path, {"form": "labels", "count": "50", "layout": "a4-4x10"})
    file_path = issued.headers["Location"]
    assert "Đang chờ đến lượt" in demo_client.get(file_path).get_data(as_text=True)
    config = demo_app.config
    env = {**os.environ, "DATABASE_URL": config["DATABASE_URL"], "TRACE_KEYS_DIR": config["TRACE_KEYS_DIR"],
           "TRACE_BASE_URL": BASE_URL, "TRACE_QUEUE_FILE": config["TRACE_QUEUE_FILE"],
           "TRACE_FILES_DIR": config["TRACE_FILES_DIR"], "SECRET_KEY": "test-secret", "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([str(Path(sys.executable).parent / "huey_consumer"), "trace.worker.queue", "--workers",
                               "1", "--quiet"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        with Session(demo_app.extensions["trace.engine"]) as session:
            while True:
                label_file = session.exec(select(LabelFile).order_by(LabelFile.id.desc())).first()
                session.refresh(label_file)
                if label_file.status in ("ready", "failed") or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        assert label_file.status == "ready", worker.stdout.read1().decode() if worker.poll() is not None else ""
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    page = demo_client.get(file_path).get_data(as_text=True)
    assert "Tải tệp PDF" in page and 'http-equiv="refresh"' not in page
    pdf = demo_client.get(re.search(r'href="(/producer/label-files/\d+\.pdf)"', page).group(1))
    assert len(pypdfium2.PdfDocument(pdf.data)) == 2  # 50 labels, 40 a page


def test_another_organizations_label_runs_files_and_pngs_do_not_exist_for_a_producer(demo_app, demo_client):
    """A run, its files, its PNGs and its CSV belong to the lot's maker: anyone else gets a 404, and cannot cancel."""
    from trace.services import accounts
    login(demo_client, "htx.lua@demo.vn")
    issued = post_form(demo_client, rice_lot_path(demo_client), {"form": "labels", "count": "3", "layout": "a4-3x8"})
    file_path = issued.headers["Location"]
    run_pending(demo_app)
    with demo_app.app_context():
        run = get_session().exec(select(LabelRun).order_by(LabelRun.id.desc())).first()
        token = accounts.create_token(get_session(), "thuysan@demo.vn")
        get_session().commit()
    other = demo_app.test_client()
    login(other, "thuysan@demo.vn")
    run_path = f"/producer/label-runs/{run.id}"
    for path in (file_path, f"{file_path}.pdf", run_path, f"{run_path}/{run.first_serial}.png",
                 f"{run_path}/png?serial={run.first_serial}"):
        assert other.get(path).status_code == 404, path
    assert post_form(other, run_path, {"form": "cancel", "cancel_reason": "x"}, form_page="/producer/").status_code == 404
    headers = {"Authorization": f"Bearer {token}"}
    assert demo_client.post(f"/api/v1/label-runs/{run.id}/cancel", json={"reason": "x"}, headers=headers).status_code == 404
    assert demo_client.get(f"/api/v1/label-runs/{run.id}/labels.csv", headers=headers).status_code == 404
    with demo_app.app_context():
        assert get_session().get(LabelRun, run.id).cancelled_at is None


def test_a_label_count_error_is_said_once_beside_its_field(demo_app, demo_client):
    login(demo_client, "htx.lua@demo.vn")
    demo_client.set_cookie("lang", "en")
    lot_path = rice_lot_path(demo_client)
    refused = post_form(demo_client, lot_path, {"form": "labels", "count": "0", "layout": "a4-3x8"})
    page = refused.get_data(as_text=True)
    (message,) = field_errors(page).values()
    assert refused.status_code == 422 and page.count(message) == 1
