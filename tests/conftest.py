"""Fixtures shared by the test modules: temporary databases, the shared real-world
CloudTrail datasets (skipped with a reason when absent), and a real moto server
on 127.0.0.1 for every boto3 path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE_LOGS = REPO / "sample_logs"
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"real CloudTrail datasets not present at ../shared/datasets ({SHARED_DATASETS})")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto server on a free loopback port; boto3 reaches it over HTTP."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Environment that points boto3 at the moto server with dummy credentials."""
    import requests

    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    return moto_endpoint


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sample_logs/ through ingest, iam load (with its SCP) and analyze, built once per
    session. Tests that write to it copy it first (``copy_sample_db``)."""
    if not (SAMPLE_LOGS / "AWSLogs").is_dir():
        pytest.skip(f"sample_logs/ is not present ({SAMPLE_LOGS})")
    from recommender import db, ingest
    from recommender.analysis import analyze
    from recommender.grants import load_authorization_details

    path = tmp_path_factory.mktemp("sample-db") / "sample.duckdb"
    con = db.connect(path)
    ingest.ingest(con, [SAMPLE_LOGS / "AWSLogs"])
    load_authorization_details(
        con, [SAMPLE_LOGS / "iam" / "authorization-details.json"], [SAMPLE_LOGS / "iam" / "scp.json"]
    )
    analyze(con)
    con.close()
    return path


@pytest.fixture
def copy_sample_db(sample_db: Path, tmp_path: Path) -> Path:
    """A private copy of the session's sample database, free to modify."""
    import shutil

    target = tmp_path / "sample.duckdb"
    shutil.copyfile(sample_db, target)
    return target
