"""S3 ingest end to end against moto's S3 server: the CloudTrail key layout (account and
organisation trails), filters that prune folders, incremental runs that GET only new
objects, an interrupted run resumed without duplicates, and access errors that name
the missing permission."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from click.testing import CliRunner

from recommender.cli import main
from recommender.db import connect
from recommender.errors import AwsAccessError
from recommender.ingest import ingest
from recommender.s3source import _ResumingBody, parse_s3_url, s3_sources
from recommender.sources import SourceFile

BUCKET = "org-trail"
ORG = "o-abc123def4"
ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("us-east-1", "eu-west-1")
DAYS = (date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 2))


def _record(account: str, region: str, day: date, n: int) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "eventID": f"{account}-{region}-{day.isoformat()}-{n}",
        "eventTime": f"{day.isoformat()}T12:{n:02d}:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": region,
        "recipientAccountId": account,
        "userIdentity": {
            "type": "AssumedRole",
            "arn": f"arn:aws:sts::{account}:assumed-role/agent-reader/session-{n}",
            "accountId": account,
            "sessionContext": {"sessionIssuer": {
                "type": "Role", "arn": f"arn:aws:iam::{account}:role/agent-reader",
                "accountId": account}},
        },
        "requestParameters": {"bucketName": "data", "key": f"doc-{n}.txt"},
        "resources": [{"ARN": f"arn:aws:s3:::data/doc-{n}.txt", "type": "AWS::S3::Object"}],
    }


def _key(account: str, region: str, day: date, tag: str, org: bool = True) -> str:
    base = f"trail/AWSLogs/{ORG}/{account}" if org else f"trail/AWSLogs/{account}"
    stamp = day.strftime("%Y%m%d")
    return (f"{base}/CloudTrail/{region}/{day:%Y/%m/%d}/"
            f"{account}_CloudTrail_{region}_{stamp}T1200Z_{tag}.json.gz")


def _put(s3: Any, key: str, records: list[dict[str, Any]]) -> None:
    body = gzip.compress(json.dumps({"Records": records}).encode(), mtime=0)
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


@pytest.fixture
def trail(aws_env: str) -> Any:
    """An organisation trail: 2 accounts x 2 regions x 3 days, 2 records per object,
    plus digests and a Config folder that must never be read."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for account in ACCOUNTS:
        for region in REGIONS:
            for day in DAYS:
                _put(s3, _key(account, region, day, "a"),
                     [_record(account, region, day, 1), _record(account, region, day, 2)])
        digest = (f"trail/AWSLogs/{ORG}/{account}/CloudTrail-Digest/us-east-1/2026/10/01/"
                  f"{account}_CloudTrail-Digest_us-east-1_x_20261001T1200Z.json.gz")
        s3.put_object(Bucket=BUCKET, Key=digest, Body=b"{}")
        s3.put_object(Bucket=BUCKET, Key=f"trail/AWSLogs/{ORG}/{account}/Config/x.json.gz", Body=b"{}")
    return s3


def _uris(url: str, **kw: Any) -> list[str]:
    return [s.uri for s in s3_sources(url, **kw)]


def test_parse_s3_url() -> None:
    assert parse_s3_url("s3://b/AWSLogs").prefix == "AWSLogs/"
    assert parse_s3_url("s3://b").prefix == ""
    with pytest.raises(Exception, match="not an S3 URL"):
        parse_s3_url("s3:///x")


def test_layout_listing_and_filters(trail: Any) -> None:
    every = _uris(f"s3://{BUCKET}/trail/")
    assert len(every) == len(ACCOUNTS) * len(REGIONS) * len(DAYS)
    assert not any("Digest" in u or "/Config/" in u for u in every)
    assert every == sorted(every)

    only = _uris(f"s3://{BUCKET}/trail/", accounts=["222222222222"], regions=["eu-west-1"],
                 since=date(2026, 10, 1), until=date(2026, 10, 1))
    assert only == [f"s3://{BUCKET}/" + _key("222222222222", "eu-west-1", date(2026, 10, 1), "a")]

    # A month boundary: --since 2026-10-01 drops September's folder without listing in it.
    october = _uris(f"s3://{BUCKET}/trail/", since=date(2026, 10, 1))
    assert len(october) == len(ACCOUNTS) * len(REGIONS) * 2
    assert not any("/2026/09/" in u for u in october)

    # A URL that already points inside the layout; filters that contradict it give nothing.
    deep = f"s3://{BUCKET}/trail/AWSLogs/{ORG}/111111111111/CloudTrail/us-east-1/2026/10/"
    assert len(_uris(deep)) == 2
    assert _uris(deep, regions=["eu-west-1"]) == []
    assert _uris(deep, until=date(2026, 9, 30)) == []


def test_filters_prune_listing_requests(trail: Any) -> None:
    """--account/--region/--since descend only matching folders: count ListObjectsV2 prefixes."""
    prefixes: list[str] = []
    client = boto3.client("s3")
    client.meta.events.register("before-call.s3.ListObjectsV2",
                                lambda params, **_: prefixes.append(params["url_path"] + str(params["query_string"])))
    list(s3_sources(f"s3://{BUCKET}/trail/", accounts=["111111111111"], regions=["us-east-1"],
                    since=date(2026, 10, 2), client=client))
    listed = " ".join(prefixes)
    assert "222222222222" not in listed
    assert "eu-west-1" not in listed
    assert "%2F09%2F" not in listed and "/09/" not in listed


def test_account_trail_without_org(aws_env: str) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    key = _key("333333333333", "us-west-2", date(2026, 10, 5), "z", org=False)
    _put(s3, key, [_record("333333333333", "us-west-2", date(2026, 10, 5), 1)])
    assert _uris(f"s3://{BUCKET}/trail/", accounts=["333333333333"]) == [f"s3://{BUCKET}/{key}"]
    assert _uris(f"s3://{BUCKET}/trail/", accounts=["111111111111"]) == []


def test_incremental_runs_get_only_new_objects(trail: Any, db_path: Path) -> None:
    gets: list[str] = []
    url = f"s3://{BUCKET}/trail/"
    con = connect(db_path)
    first = ingest(con, sources=s3_sources(url, on_get=gets.append))
    assert first.files == 12 and first.stored == 24 and first.rejected == 0
    assert len(gets) == 12
    etags = con.execute("SELECT count(*) FROM ingest_files WHERE etag IS NOT NULL "
                        "AND uri LIKE 's3://%'").fetchone()[0]
    assert etags == 12

    # New deliveries: one new object, one rewritten object (new ETag, same key).
    new_day = date(2026, 10, 3)
    _put(trail, _key("111111111111", "us-east-1", new_day, "b"),
         [_record("111111111111", "us-east-1", new_day, 7)])
    changed = _key("222222222222", "eu-west-1", DAYS[0], "a")
    _put(trail, changed, [_record("222222222222", "eu-west-1", DAYS[0], n) for n in (1, 2, 3)])

    gets.clear()
    second = ingest(con, sources=s3_sources(url, on_get=gets.append))
    assert sorted(gets) == sorted([_key("111111111111", "us-east-1", new_day, "b"), changed])
    assert second.unchanged_files == 11
    assert (second.stored, second.duplicates) == (2, 2)
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 26
    assert con.execute("SELECT sum(calls) FROM usage_daily WHERE resource_kind = 'AWS::S3::Object'").fetchone()[0] == 26

    gets.clear()
    third = ingest(con, sources=s3_sources(url, on_get=gets.append))
    assert gets == [] and third.files == 0
    con.close()


class _Interrupted(Exception):
    pass


def test_interrupted_run_resumes_without_duplicates(trail: Any, db_path: Path) -> None:
    url = f"s3://{BUCKET}/trail/"
    opened: list[str] = []

    def failing_after(n: int) -> list[SourceFile]:
        out = []
        for src in s3_sources(url):
            def opener(src: SourceFile = src) -> Any:
                if len(opened) >= n:
                    raise _Interrupted(src.uri)
                opened.append(src.uri)
                return src.open()
            out.append(SourceFile(uri=src.uri, size=src.size, mtime=src.mtime, etag=src.etag,
                                  opener=opener))
        return out

    con = connect(db_path)
    with pytest.raises(_Interrupted):
        # batch_bytes=1: one object per batch, each committed on its own.
        ingest(con, sources=failing_after(5), batch_bytes=1)
    assert con.execute("SELECT count(*) FROM ingest_files").fetchone()[0] == 5
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 10

    # In one batch, the objects already stored when a later one fails are taken back with it.
    opened.clear()
    with pytest.raises(_Interrupted):
        ingest(con, sources=failing_after(3))
    assert len(opened) == 3
    assert con.execute("SELECT count(*) FROM ingest_files").fetchone()[0] == 5
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 10

    gets: list[str] = []
    resumed = ingest(con, sources=s3_sources(url, on_get=gets.append), batch_bytes=1)
    assert len(gets) == 7 and resumed.unchanged_files == 5
    assert resumed.duplicates == 0 and resumed.stored == 14
    assert con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone() == (24, 24)
    assert con.execute("SELECT sum(calls) FROM usage_daily WHERE resource_kind = 'AWS::S3::Object'").fetchone()[0] == 24
    con.close()


def test_cli_mixes_local_and_s3(trail: Any, db_path: Path, tmp_path: Path) -> None:
    local = tmp_path / "AWSLogs" / "444444444444" / "CloudTrail" / "us-east-1" / "2026" / "10" / "01"
    local.mkdir(parents=True)
    (local / "444444444444_CloudTrail_us-east-1_20261001T1200Z_l.json.gz").write_bytes(
        gzip.compress(json.dumps({"Records": [_record("444444444444", "us-east-1", DAYS[1], 1)]}).encode()))
    result = CliRunner().invoke(main, [
        "ingest", f"s3://{BUCKET}/trail/", str(tmp_path / "AWSLogs"), "--db", str(db_path),
        "--account", "111111111111", "--account", "444444444444", "--region", "us-east-1",
        "--since", "2026-10-01", "--until", "2026-10-02", "--format", "json"])
    assert result.exit_code == 0, result.output + str(result.exception)
    out = json.loads(result.stdout)
    assert (out["files"], out["stored"]) == (3, 5)


def test_objects_named_twice_are_read_once(trail: Any, db_path: Path) -> None:
    # The same prefix with and without its slash, and a prefix inside it: each object once.
    urls = [f"s3://{BUCKET}/trail", f"s3://{BUCKET}/trail/",
            f"s3://{BUCKET}/trail/AWSLogs/{ORG}/111111111111/"]
    result = CliRunner().invoke(main, ["ingest", *urls, "--db", str(db_path), "--format", "json"])
    assert result.exit_code == 0, result.output + str(result.exception)
    out = json.loads(result.stdout)
    assert (out["files"], out["records"], out["stored"], out["duplicates"]) == (12, 24, 24, 0)
    with connect(db_path) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 24


def test_an_empty_prefix_is_an_error_alone_and_a_warning_beside_others(trail: Any, db_path: Path) -> None:
    typo = f"s3://{BUCKET}/trial/"
    alone = CliRunner().invoke(main, ["ingest", typo, "--db", str(db_path)])
    assert alone.exit_code == 1 and f"no CloudTrail objects under {typo}" in alone.stderr
    assert "--since" not in alone.stderr  # no filter was given
    beside = CliRunner().invoke(main, ["ingest", typo, f"s3://{BUCKET}/trail/", "--db", str(db_path)])
    assert beside.exit_code == 0, beside.output
    assert f"warning: no CloudTrail objects under {typo}; check the prefix" in beside.stderr


def test_objects_deleted_or_rewritten_after_listing_fail_alone(trail: Any, db_path: Path) -> None:
    listed = list(s3_sources(f"s3://{BUCKET}/trail/AWSLogs/{ORG}/111111111111/"))
    assert len(listed) == 6
    deleted, rewritten = listed[1].uri, listed[4].uri
    trail.delete_object(Bucket=BUCKET, Key=deleted.split("/", 3)[3])
    _put(trail, rewritten.split("/", 3)[3], [_record("111111111111", "us-east-1", DAYS[0], 9)])
    con = connect(db_path)
    result = ingest(con, sources=listed)
    assert (result.files, result.failed_files, result.stored) == (6, 2, 8)
    reasons = {f.uri: f.reason for f in result.file_results if f.status == "failed"}
    assert reasons[deleted] == f"{deleted} disappeared between listing and reading"
    assert reasons[rewritten].startswith(f"{rewritten} changed after it was listed")
    # The next listing has the new version, which is read; the deleted one is gone.
    again = ingest(con, sources=s3_sources(f"s3://{BUCKET}/trail/AWSLogs/{ORG}/111111111111/"))
    assert (again.files, again.unchanged_files, again.stored, again.failed_files) == (1, 4, 1, 0)
    con.close()


def test_a_url_naming_one_object_reads_that_object(trail: Any, db_path: Path) -> None:
    records = [_record("333333333333", "us-east-1", DAYS[0], n) for n in (1, 2)]
    trail.put_object(Bucket=BUCKET, Key="exports/records.json", Body=json.dumps(records).encode())
    url = f"s3://{BUCKET}/exports/records.json"
    assert _uris(url) == [url]
    result = CliRunner().invoke(main, ["ingest", url, "--db", str(db_path), "--format", "json"])
    assert result.exit_code == 0, result.output + str(result.exception)
    assert json.loads(result.stdout)["stored"] == 2
    assert _uris(f"s3://{BUCKET}/exports/missing.json") == []


def test_missing_bucket_and_denied_access(aws_env: str, db_path: Path) -> None:
    with pytest.raises(AwsAccessError, match="does not exist"):
        list(s3_sources("s3://no-such-bucket/AWSLogs/"))

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    _put(s3, _key("111111111111", "us-east-1", DAYS[1], "a"), [_record("111111111111", "us-east-1", DAYS[1], 1)])
    iam = boto3.client("iam")
    iam.create_user(UserName="lister")
    iam.put_user_policy(UserName="lister", PolicyName="list-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"}]}))
    key = iam.create_access_key(UserName="lister")["AccessKey"]
    # From here on moto checks every request against IAM.
    requests.post(f"{aws_env}/moto-api/reset-auth", data=b"0", timeout=10)
    try:
        client = boto3.client("s3", aws_access_key_id=key["AccessKeyId"],
                              aws_secret_access_key=key["SecretAccessKey"])
        sources = list(s3_sources(f"s3://{BUCKET}/trail/", client=client))
        assert len(sources) == 1
        con = connect(db_path)
        with pytest.raises(AwsAccessError, match=r"s3:GetObject on it") as err:
            ingest(con, sources=sources)
        assert _key("111111111111", "us-east-1", DAYS[1], "a") in str(err.value)
        con.close()
        denied = boto3.client("s3", aws_access_key_id="AKIAUNKNOWN0000000000",
                              aws_secret_access_key="x")
        with pytest.raises(AwsAccessError, match=r"s3:ListBucket"):
            list(s3_sources(f"s3://{BUCKET}/trail/", client=denied))
    finally:
        requests.post(f"{aws_env}/moto-api/reset-auth", data=b"inf", timeout=10)


def test_cut_stream_resumes_with_a_range_request(aws_env: str) -> None:
    """A download that breaks mid-way continues from the last byte, pinned to the ETag."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    key = _key("111111111111", "us-east-1", DAYS[1], "big")
    payload = bytes(range(256)) * 4096  # 1 MiB
    s3.put_object(Bucket=BUCKET, Key=key, Body=payload)
    (src,) = list(s3_sources(f"s3://{BUCKET}/trail/"))
    headers: list[dict[str, str]] = []
    client = boto3.client("s3")
    client.meta.events.register("before-call.s3.GetObject",
                                lambda params, **_: headers.append(dict(params["headers"])))
    body = _ResumingBody(client, BUCKET, key, src.etag, None)
    first = body.read(1000)
    body._body._raw_stream.close()  # the connection drops: botocore sees a short body
    rest = body.read()
    assert first + rest == payload
    assert len(headers) == 2
    assert "Range" not in headers[0] and headers[1]["Range"] == "bytes=1000-"
    assert headers[1]["If-Match"] == f'"{src.etag}"'


def test_local_copies_of_objects_last_only_as_long_as_their_batch(
        trail: Any, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An organisation trail is far larger than the disk: each batch's copies go with it.
    copies: list[Path] = []
    alive_at_each_copy: list[int] = []
    real = SourceFile.materialise

    def spy(self: SourceFile, folder: Path) -> Path:
        alive_at_each_copy.append(sum(p.exists() for p in copies))
        path = real(self, folder)
        copies.append(path)
        return path

    monkeypatch.setattr(SourceFile, "materialise", spy)
    result = ingest(connect(db_path), sources=s3_sources(f"s3://{BUCKET}/trail/"), batch_bytes=1)
    assert result.files == 12 and result.stored == 24
    assert len(copies) == 12 and alive_at_each_copy == [0] * 12  # one object per batch
    assert not any(p.exists() for p in copies)
