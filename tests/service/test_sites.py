"""Sites and models in the service: validated as the command line validates them, kept per organization."""

from __future__ import annotations

import yaml

from tests.conftest import example_site_data


def site_yaml(**changes: object) -> str:
    data = example_site_data()
    data.update(changes)
    return yaml.safe_dump(data)


def test_a_site_is_added_listed_read_and_deleted(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("olga")
    answer = client.post("/api/sites", json={"site_yaml": site_yaml()})
    assert answer.status_code == 201, answer.text
    site = answer.json()
    assert site["weather"] == "chicago" and len(site["zones"]) == 2
    assert site["run_period_first_day"] == "07-01" and site["run_period_last_day"] == "07-03"
    assert [s["id"] for s in client.get("/api/sites").json()] == [site["id"]]
    assert client.get(f"/api/sites/{site['id']}").json()["site_yaml"] == site_yaml()
    again = client.post("/api/sites", json={"site_yaml": site_yaml()})
    assert again.status_code == 422 and "already has a site" in again.json()["detail"]
    assert client.delete(f"/api/sites/{site['id']}").status_code == 204
    assert client.get(f"/api/sites/{site['id']}").status_code == 404


def test_an_uploaded_site_file_is_read_as_a_file(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("olga")
    answer = client.post("/api/sites/upload", files={"file": ("hall.yaml", site_yaml().encode(), "application/yaml")})
    assert answer.status_code == 201, answer.text
    bad = client.post("/api/sites/upload", files={"file": ("bad.yaml", b"name: [unclosed", "application/yaml")})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("bad.yaml: <yaml>: malformed YAML")


def test_a_bad_site_is_the_command_lines_one_line_naming_the_field(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("olga")
    data = example_site_data()
    data["zones"][0]["floor_area_m2"] = -5
    answer = client.post("/api/sites", json={"site_yaml": yaml.safe_dump(data), "file_name": "mine.yaml"})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail.startswith("mine.yaml: zones.0.floor_area_m2:") and "\n" not in detail
    unknown = client.post("/api/sites", json={"site_yaml": site_yaml(colour="green")})
    assert unknown.status_code == 422 and "colour" in unknown.json()["detail"]
    listed = client.post("/api/sites", json={"site_yaml": "- a\n- list\n"})
    assert listed.status_code == 422 and "<root>" in listed.json()["detail"]
    missing = client.post("/api/sites", json={})
    assert missing.status_code == 422 and missing.json()["detail"].startswith("site_yaml:")


def test_a_site_naming_files_the_service_does_not_hold_is_refused(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("olga")
    epw = client.post("/api/sites", json={"site_yaml": site_yaml(weather="/etc/passwd.epw")})
    assert epw.status_code == 422
    assert epw.json()["detail"].startswith("site.yaml: weather: the service holds no weather file")
    csv = client.post("/api/sites", json={"site_yaml": site_yaml(it_load={"kind": "csv", "path": "load.csv"})})
    assert csv.status_code == 422 and "it_load.path" in csv.json()["detail"]
    shipped = client.post("/api/sites", json={"site_yaml": site_yaml(weather="tampa")})
    assert shipped.status_code == 201, shipped.text


def test_organizations_see_only_their_own_sites(make_client) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = make_client("olga"), make_client("tom", organization="other")
    site = ours.post("/api/sites", json={"site_yaml": site_yaml()}).json()
    assert theirs.get("/api/sites").json() == []
    assert theirs.get(f"/api/sites/{site['id']}").status_code == 404
    assert theirs.delete(f"/api/sites/{site['id']}").status_code == 404
    assert theirs.get(f"/sites/{site['id']}", headers={"accept": "text/html"}).status_code == 404
    # The same name in another organization is another site.
    assert theirs.post("/api/sites", json={"site_yaml": site_yaml()}).status_code == 201
    assert ours.get(f"/api/sites/{site['id']}").status_code == 200


def test_a_viewer_reads_but_cannot_add_or_delete(make_client, anonymous) -> None:  # type: ignore[no-untyped-def]
    operator, viewer = make_client("olga"), make_client("vic", role="viewer")
    site = operator.post("/api/sites", json={"site_yaml": site_yaml()}).json()
    assert viewer.get("/api/sites").status_code == 200
    assert viewer.post("/api/sites", json={"site_yaml": site_yaml(name="x")}).status_code == 403
    assert viewer.delete(f"/api/sites/{site['id']}").status_code == 403
    assert anonymous.get("/api/sites").status_code == 401
    assert anonymous.post("/api/sites", json={"site_yaml": site_yaml()}).status_code == 401


def test_a_bad_model_file_is_refused_with_its_one_line(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("olga")
    answer = client.post("/api/models", files={"file": ("mine.gdm", b"not a zip archive", "application/zip")})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("mine.gdm:") and "organizations" not in detail and "\n" not in detail
    assert client.get("/api/models").json() == []


def test_a_good_model_file_is_kept(make_client, facility_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "model.gdm"
    facility_model.save(path)
    client = make_client("olga")
    answer = client.post("/api/models", files={"file": ("chicago.gdm", path.read_bytes(), "application/zip")},
                         data={"name": "Chicago July"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["source"] == "uploaded" and answer.json()["size_bytes"] == path.stat().st_size
    assert [m["name"] for m in client.get("/api/models").json()] == ["Chicago July"]
    assert make_client("tom", organization="other").get("/api/models").json() == []
    # The site page's form keeps one too, and shows a bad file's one line on the page.
    site_id = client.post("/api/sites", json={"site_yaml": site_yaml()}).json()["id"]
    form = client.post(f"/sites/{site_id}/models", files={"file": ("page.gdm", path.read_bytes())},
                       follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"] == f"/sites/{site_id}"
    bad = client.post(f"/sites/{site_id}/models", files={"file": ("broken.gdm", b"PK not really")})
    assert bad.status_code == 422 and "broken.gdm:" in bad.text
    assert [m["name"] for m in client.get("/api/models").json()] == ["page.gdm", "Chicago July"]


def test_the_fleet_and_site_pages_show_sites_in_words(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("olga")
    added = client.post("/sites/new", data={"site_yaml": site_yaml()}, follow_redirects=False)
    assert added.status_code == 303, added.text
    site_page = client.get(added.headers["location"])
    assert site_page.status_code == 200
    for words in ("Start simulation", "Run bench", "Train a model", "Upload model"):
        assert words in site_page.text
    assert 'hx-get="/sites/' in site_page.text and "/live" in site_page.text
    fleet = client.get("/")
    assert fleet.status_code == 200 and "no simulation yet" in fleet.text and "Add site" in fleet.text
    refused = client.post("/sites/new", data={"site_yaml": "name: [unclosed"})
    assert refused.status_code == 422 and "malformed YAML" in refused.text and "name: [unclosed" in refused.text
    viewer = make_client("vic", role="viewer")
    assert "Start simulation" not in viewer.get(added.headers["location"]).text


def test_every_engineering_route_is_in_the_openapi_document_with_its_tag(anonymous) -> None:  # type: ignore[no-untyped-def]
    paths = anonymous.get("/openapi.json").json()["paths"]
    expected = {"/api/sites": {"get", "post"}, "/api/sites/upload": {"post"}, "/api/sites/{site_id}": {"get", "delete"},
                "/api/models": {"get", "post"}, "/api/jobs": {"get", "post"}, "/api/jobs/{job_id}": {"get"},
                "/api/jobs/{job_id}/files/{name}": {"get"}, "/api/jobs/{job_id}/summary": {"get"},
                "/api/benches/{job_id}": {"get"}}
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
        for method in methods:
            assert paths[path][method]["tags"] in (["sites"], ["models"], ["jobs"]), (path, method)
    submit = paths["/api/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "discriminator" in submit or "oneOf" in submit  # simulation | bench | training, told apart by kind
