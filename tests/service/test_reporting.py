"""Inventories, verification results and rendered ESG reports in the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

from fastapi.testclient import TestClient

from greendc.service.database import AuditEvent, session_factory

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "inventories"
TENCENT = (EXAMPLES / "tencent-2023.yaml").read_text(encoding="utf-8")
RECORD = json.loads((EXAMPLES / "sample-verification" / "shanghai-2023.json").read_text(encoding="utf-8"))
#: One site of the multi-site example, self-contained: its verified saving is the sample record.
SHANGHAI = """\
schema_version: 1
organization: {name: Example Cloud Ltd.}
reporting_year: 2023
sites:
  - name: Shanghai DC
    grid_region: CN-East
    electricity:
      monthly: {unit: MWh, values: [780, 720, 800, 820, 860, 900, 950, 960, 890, 840, 780, 800]}
    it_energy: {value: 7600, unit: MWh}
"""


def _upload(client: TestClient, name: str, text: str):  # type: ignore[no-untyped-def]
    return client.post("/api/inventories", json={"name": name, "inventory_yaml": text})


def _finished(client: TestClient, report_id: int, timeout_s: float = 120.0) -> dict:
    """The report once the service's job queue has finished it (a report renders in some 5 s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        report = client.get(f"/api/reports/{report_id}").json()
        if report["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return report
        time.sleep(0.2)


def test_an_inventory_is_kept_listed_and_replaced_by_name(app, make_client) -> None:
    client = make_client("sam")
    first = _upload(client, "tencent 2023", TENCENT)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["reporting_year"] == 2023 and body["savings"] == 1 and body["replaced"] is False
    again = _upload(client, "tencent 2023", TENCENT.replace("reporting_year: 2023", "reporting_year: 2023\n"))
    assert again.json()["replaced"] is True and again.json()["id"] == body["id"]
    listed = client.get("/api/inventories").json()
    assert [i["name"] for i in listed] == ["tencent 2023"]
    detail = client.get(f"/api/inventories/{body['id']}").json()
    assert "organization:" in detail["inventory_yaml"]
    with session_factory(app.state.engine)() as db:
        actions = [e.action for e in db.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions[-2:] == ["inventory uploaded", "inventory replaced"]


def test_a_bad_inventory_is_the_cli_line_naming_the_field(make_client) -> None:
    client = make_client("sam")
    no_unit = TENCENT.replace("annual: {value: 5160000, unit: MWh}", "annual: 5160000")
    answer = _upload(client, "bad", no_unit)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("bad: sites[0].electricity.annual: state the unit explicitly")
    unknown_region = _upload(client, "bad", SHANGHAI.replace("CN-East", "Atlantis"))
    assert unknown_region.status_code == 422 and "sites[0].grid_region" in unknown_region.json()["detail"]
    malformed = _upload(client, "bad", "sites: [unclosed")
    assert malformed.status_code == 422 and "malformed YAML" in malformed.json()["detail"]
    assert client.get("/api/inventories").json() == []


def test_an_inventory_naming_a_file_on_the_server_is_refused(make_client) -> None:
    client = make_client("sam")
    from_run = SHANGHAI.replace("monthly: {unit: MWh, values: [780, 720, 800, 820, 860, 900, 950, 960, 890, "
                                "840, 780, 800]}", "from_run: /etc/passwd")
    answer = _upload(client, "sneaky", from_run)
    assert answer.status_code == 422
    assert "sites[0].electricity.from_run: the service reads no file" in answer.json()["detail"]
    saving = SHANGHAI + "savings:\n  - {name: x, site: Shanghai DC, from_verification: ../../secret.json}\n"
    answer = _upload(client, "sneaky", saving)
    assert answer.status_code == 422 and "savings[0].from_verification" in answer.json()["detail"]


def test_an_inventory_file_upload_is_named_after_the_file(make_client) -> None:
    client = make_client("sam")
    answer = client.post("/api/inventories/upload", files={"file": ("tencent-2023.yaml", TENCENT.encode())})
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "tencent-2023"


def test_a_verification_record_is_kept_and_a_bad_one_refused(make_client) -> None:
    client = make_client("sam")
    kept = client.post("/api/verifications", json={"name": "shanghai", "record": RECORD})
    assert kept.status_code == 201, kept.text
    assert kept.json()["claimable"] is True and abs(kept.json()["avoided_mwh"] - 313.1) < 1e-9
    # The record's times are interval ends: its year of hours is 2023-01-01 to 2023-12-31.
    assert (kept.json()["reporting_first_day"], kept.json()["reporting_last_day"]) == ("2023-01-01", "2023-12-31")
    twice = client.post("/api/verifications", json={"name": "shanghai", "record": RECORD})
    assert twice.status_code == 422 and twice.json()["detail"].startswith("name: a verification result named")
    wrong_kind = client.post("/api/verifications", json={"name": "x", "record": {**RECORD, "kind": "other"}})
    assert wrong_kind.status_code == 422 and wrong_kind.json()["detail"].startswith("x: kind: not a greendc")
    inconsistent = copy.deepcopy(RECORD)
    inconsistent["avoided_kwh"] = RECORD["avoided_kwh_upper"] + 1
    refused = client.post("/api/verifications", json={"name": "x", "record": inconsistent})
    assert refused.status_code == 422 and "avoided_kwh must lie within" in refused.json()["detail"]
    not_json = client.post("/api/verifications/upload", files={"file": ("x.json", b"{not json")})
    assert not_json.status_code == 422 and not_json.json()["detail"].startswith("x: ")
    increase = {**RECORD, "avoided_kwh": -313100.0, "avoided_kwh_lower": -361100.0, "avoided_kwh_upper": -265100.0,
                "monthly": [{**m, "avoided_kwh": -m["avoided_kwh"]} for m in RECORD["monthly"]]}
    unclaimable = client.post("/api/verifications", json={"name": "worse", "record": increase})
    assert unclaimable.status_code == 201 and unclaimable.json()["claimable"] is False
    assert "not a saving" in unclaimable.json()["not_claimable_because"]
    assert len(client.get("/api/verifications").json()) == 2


def test_a_viewer_reads_but_cannot_upload(make_client) -> None:
    operator = make_client("sam")
    assert _upload(operator, "tencent", TENCENT).status_code == 200
    viewer = make_client("vic", "viewer")
    assert _upload(viewer, "mine", TENCENT).status_code == 403
    assert viewer.post("/api/verifications", json={"name": "v", "record": RECORD}).status_code == 403
    assert viewer.post("/api/reports", json={"inventory_id": 1}).status_code == 403
    assert [i["name"] for i in viewer.get("/api/inventories").json()] == ["tencent"]


def test_another_organization_sees_none_of_it(make_client) -> None:
    owner = make_client("sam")
    inventory = _upload(owner, "tencent", TENCENT).json()["id"]
    verification = owner.post("/api/verifications", json={"name": "v", "record": RECORD}).json()["id"]
    report = owner.post("/api/reports", json={"inventory_id": inventory}).json()["id"]
    stranger = make_client("eve", "admin", organization="rival")
    for path in (f"/api/inventories/{inventory}", f"/api/verifications/{verification}", f"/api/reports/{report}",
                 f"/api/reports/{report}/report.html", f"/api/reports/{report}/report.pdf"):
        assert stranger.get(path).status_code == 404, path
    assert stranger.post("/api/reports", json={"inventory_id": inventory}).status_code == 404
    assert stranger.get("/api/inventories").json() == [] and stranger.get("/api/reports").json() == []
    # Its own inventory of the same name is its own: no clash with the other organization's.
    assert _upload(stranger, "tencent", TENCENT).json()["replaced"] is False
    assert _finished(owner, report)["status"] == "succeeded"
    assert stranger.get(f"/api/reports/{report}/report.pdf").status_code == 404  # rendered, and still not theirs


def test_a_report_is_rendered_and_downloaded(make_client) -> None:
    client = make_client("sam")
    inventory = _upload(client, "shanghai", SHANGHAI).json()["id"]
    verification = client.post("/api/verifications", json={"name": "metered", "record": RECORD}).json()["id"]
    started = client.post("/api/reports", json={"inventory_id": inventory, "verification_ids": [verification]})
    assert started.status_code == 202, started.text
    assert started.json()["status"] in ("queued", "running")
    report = _finished(client, started.json()["id"])
    assert report["status"] == "succeeded", report["message"]
    assert report["avoided_tco2"] > 0 and report["location_based_tco2"] > 0
    labels = [card["label"] for card in report["key_figures"]]
    assert labels == ["Scope 2 location-based", "Scope 2 market-based", "Renewable share of electricity",
                      "Avoided emissions, GRI 305-5"]
    html = client.get(report["html_url"])
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "Example Cloud Ltd." in html.text and "inline" in html.headers["content-disposition"]
    pdf = client.get(report["pdf_url"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-disposition"].startswith("attachment")
    figures = client.get(report["figures_url"]).json()
    assert figures["organization"]["avoided_tco2_verified"] == report["avoided_tco2"]
    page = client.get("/reports")
    assert page.status_code == 200 and "Scope 2 location-based" in page.text and report["pdf_url"] in page.text


def test_a_report_of_an_unclaimable_saving_is_refused_at_once(make_client) -> None:
    client = make_client("sam")
    inventory = _upload(client, "shanghai", SHANGHAI).json()["id"]
    flat = {**RECORD, "distinguishable_from_zero": False}
    verification = client.post("/api/verifications", json={"name": "flat", "record": flat}).json()["id"]
    refused = client.post("/api/reports", json={"inventory_id": inventory, "verification_ids": [verification]})
    assert refused.status_code == 422 and refused.json()["detail"].startswith("flat: distinguishable_from_zero")
    assert client.get("/api/reports").json() == []


def test_an_oversized_upload_is_refused(app, make_client) -> None:
    client = make_client("sam")
    big = b"#" * (app.state.settings.max_upload_bytes + 1)
    assert client.post("/api/inventories/upload", files={"file": ("big.yaml", big)}).status_code == 413
    assert client.get("/api/inventories").json() == []


def test_the_page_uploads_by_form_and_shows_the_cli_line(make_client) -> None:
    client = make_client("sam")
    csrf = client.headers.pop("X-CSRF-Token")  # a plain browser form sends the token as a field
    added = client.post("/reports/inventories", data={"csrf_token": csrf, "name": "t", "inventory_yaml": TENCENT},
                        follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == "/reports?done=inventory-added"
    bad = client.post("/reports/inventories",
                      data={"csrf_token": csrf, "name": "t", "inventory_yaml": "reporting_year: 1"})
    assert bad.status_code == 422 and 'class="problem"' in bad.text and "t: organization: Field required" in bad.text
    assert ">reporting_year: 1</textarea>" in bad.text  # what was pasted comes back to be fixed
    no_token = client.post("/reports/inventories", data={"name": "t", "inventory_yaml": TENCENT})
    assert no_token.status_code == 403
    page = client.get("/reports?done=<b>you+were+hacked</b>")
    assert "Render report" in page.text and "hacked" not in page.text


def test_the_render_button_answers_the_reports_table(make_client) -> None:
    client = make_client("sam")
    inventory = _upload(client, "tencent", TENCENT).json()["id"]
    answer = client.post("/reports/render", data={"inventory_id": str(inventory)})
    assert answer.status_code == 200 and 'id="report-list"' in answer.text
    assert "waiting to start" in answer.text or "rendering" in answer.text
    assert 'hx-trigger="every 5s"' in answer.text  # the table polls while the report renders
    _finished(client, client.get("/api/reports").json()[0]["id"])
    listing = client.get("/reports/list")
    assert "Open (HTML)" in listing.text and 'hx-trigger="every 5s"' not in listing.text
    assert "Avoided emissions, GRI 305-5" in listing.text and "2,851.5" in listing.text
    assert "+5.2 pp vs 2022" in listing.text  # the renewable share's change, as the report's card says it


def test_verified_savings_of_a_two_site_inventory_need_the_site(make_client) -> None:
    client = make_client("sam")
    second = SHANGHAI.replace("  - name: Shanghai DC", "  - name: Beijing DC\n    grid_region: CN-North\n"
                              "    electricity: {annual: {value: 9000, unit: MWh}}\n  - name: Shanghai DC")
    inventory = _upload(client, "two sites", second)
    assert inventory.status_code == 200, inventory.text
    verification = client.post("/api/verifications", json={"name": "metered", "record": RECORD}).json()["id"]
    body = {"inventory_id": inventory.json()["id"], "verification_ids": [verification]}
    refused = client.post("/api/reports", json=body)
    assert refused.status_code == 422 and refused.json()["detail"].startswith("site: the inventory has 2 sites")
    wrong = client.post("/api/reports", json={**body, "site": "Paris DC"})
    assert wrong.status_code == 422 and "no site named 'Paris DC'" in wrong.json()["detail"]


def test_every_reporting_route_is_in_the_openapi_document(anonymous: TestClient) -> None:
    paths = anonymous.get("/openapi.json").json()["paths"]
    for path in ("/api/inventories", "/api/inventories/upload", "/api/inventories/{inventory_id}",
                 "/api/verifications", "/api/verifications/upload", "/api/reports", "/api/reports/{report_id}",
                 "/api/reports/{report_id}/report.html", "/api/reports/{report_id}/report.pdf",
                 "/api/reports/{report_id}/figures.json"):
        assert path in paths, path
    assert "application/pdf" in paths["/api/reports/{report_id}/report.pdf"]["get"]["responses"]["200"]["content"]
    assert "/reports" not in paths  # the pages are not API


def test_a_viewer_sees_the_page_without_its_forms(make_client) -> None:
    operator = make_client("sam")
    assert _upload(operator, "tencent", TENCENT).status_code == 200
    page = make_client("vic", "viewer").get("/reports")
    assert page.status_code == 200 and "tencent" in page.text
    assert "Upload inventory" not in page.text and "Render report</button>" not in page.text


def test_the_render_button_adds_the_verified_savings_ticked(make_client) -> None:
    client = make_client("sam")
    inventory = _upload(client, "shanghai", SHANGHAI).json()["id"]
    verification = client.post("/api/verifications", json={"name": "metered", "record": RECORD}).json()["id"]
    page = client.get("/reports")
    assert f'name="verification_ids" value="{verification}"' in page.text
    answer = client.post("/reports/render", data={"inventory_id": str(inventory),
                                                  "verification_ids": [str(verification)]})
    assert answer.status_code == 200 and 'class="problem"' not in answer.text
    assert client.get("/api/reports").json()[0]["verification_ids"] == [verification]
    _finished(client, client.get("/api/reports").json()[0]["id"])
