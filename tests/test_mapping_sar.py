"""`recommender catalog update`: AWS's Service Authorization Reference JSON fetched from
a local HTTP server serving tests/fixtures/mapping/sar, cached, loaded into
sar_operations and used by the mapping between explicit rules and same-name defaults."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from mapping_helpers import fresh_db

from recommender import db, mapping, sar
from recommender.cli import main
from recommender.errors import AwsAccessError

SAR_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mapping" / "sar"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def sar_server():
    """http://127.0.0.1:<port>/ serving the fixture folder; '/' answers with index.json."""

    class Handler(_Quiet):
        def do_GET(self) -> None:
            if self.path == "/":
                self.path = "/index.json"
            super().do_GET()

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(SAR_FIXTURES))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_update_fetches_caches_and_loads(sar_server: str, tmp_path: Path) -> None:
    path = fresh_db(tmp_path / "sar.duckdb")
    res = CliRunner().invoke(
        main, ["catalog", "update", "--url", sar_server, "--db", str(path), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["sar"]["services"] == 2  # the entry named "../evil" is refused
    assert doc["sar"]["facts"] == 7
    cache = tmp_path / ".recommender-cache" / "sar"
    assert sorted(p.name for p in cache.iterdir()) == ["index.json", "kms.json", "s3.json"]

    con = db.connect(path)
    rows = con.execute(
        "SELECT service, operation, action FROM sar_operations ORDER BY ALL"
    ).fetchall()
    assert ("s3", "PutObject", "s3:PutObjectTagging") in rows and (
        "kms",
        "ReEncrypt",
        "kms:ReEncryptTo",
    ) in rows
    # SAR beats the same-name default ...
    put = mapping.actions_for(con, "s3.amazonaws.com", "PutObject")
    assert put["rule"] == "sar" and put["actions"] == ["s3:PutObject", "s3:PutObjectTagging"]
    assert put["rules"][0]["citation"] == f"{sar_server}v1/s3/s3.json"
    # ... maps an operation whose name is no action ...
    assert mapping.actions_for(con, "s3.amazonaws.com", "RenamedByAws")["actions"] == [
        "s3:ListBucket"
    ]
    # ... never invents an action the catalog lacks, and loses to an explicit rule.
    assert not mapping.actions_for(con, "s3.amazonaws.com", "GhostOperation")["mapped"]
    assert mapping.actions_for(con, "s3.amazonaws.com", "CopyObject")["actions"] == [
        "s3:GetObject",
        "s3:PutObject",
    ]
    con.close()

    shown = CliRunner().invoke(main, ["catalog", "show", "--db", str(path), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["sar"]["services"] == 2


def test_update_can_be_limited_and_reloaded_offline(sar_server: str, tmp_path: Path) -> None:
    path = fresh_db(tmp_path / "sar.duckdb")
    cache = tmp_path / "cache"
    res = CliRunner().invoke(
        main,
        [
            "catalog",
            "update",
            "--url",
            sar_server,
            "--service",
            "kms",
            "--cache",
            str(cache),
            "--db",
            str(path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "1 services" in res.output
    again = CliRunner().invoke(
        main, ["catalog", "update", "--offline", "--cache", str(cache), "--db", str(path)]
    )
    assert again.exit_code == 0, again.output
    con = db.connect(path)
    assert con.execute("SELECT DISTINCT service FROM sar_operations").fetchall() == [("kms",)]
    con.close()


def test_unreachable_url_is_an_actionable_error(tmp_path: Path) -> None:
    with pytest.raises(AwsAccessError, match="built-in mapping rules work offline"):
        sar.fetch("http://127.0.0.1:9/", tmp_path)  # discard port: nothing listens
    res = CliRunner().invoke(
        main,
        [
            "catalog",
            "update",
            "--offline",
            "--cache",
            str(tmp_path / "none"),
            "--db",
            str(fresh_db(tmp_path / "x.duckdb")),
        ],
    )
    assert res.exit_code == 1 and "run `recommender catalog update` first" in res.output


def test_parse_service_ignores_odd_shapes() -> None:
    doc = {
        "Name": "S3",
        "Operations": [
            {"Name": "s3:GetObject", "AuthorizedActions": [{"Name": "GetObject"}]},
            {"Name": 5},
            "junk",
            {"Name": "X", "AuthorizedActions": [None, {"Service": "s3"}]},
        ],
    }
    assert sar.parse_service(doc, "s3") == [
        {"service": "s3", "operation": "GetObject", "action": "s3:GetObject"}
    ]
    assert sar.parse_service(["not", "a", "dict"], "s3") == []
