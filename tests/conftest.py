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
