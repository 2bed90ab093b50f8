"""CloudTrail objects read straight from the trail's S3 bucket, incrementally.

Why it is shaped this way:

* **List only what the filters allow.** CloudTrail writes
  ``[prefix/]AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz``.
  The walk descends that layout one level at a time with ``Delimiter="/"``, so
  ``--account``, ``--region`` and ``--since``/``--until`` prune whole folders
  before any object below them is listed, and a month's run of a year-old trail
  lists a month of day folders, not the year. ``CloudTrail-Digest/``,
  ``CloudTrail-Insight/`` and other services' folders are never entered.
* **Read only what is new.** Listing yields size and ETag; ingest compares them
  with ``ingest_files`` and skips a known object *before* calling ``open()``, so an
  already-ingested object costs no GET at all.
* **Stream, do not mirror.** ``open()`` returns the ``GetObject`` body; ingest
  copies it to a temporary file only when the object's batch is read. A stream cut
  mid-way is resumed with a ``Range`` request pinned to the listed ETag
  (``IfMatch``), so a long object is not fetched twice and a replaced one is not
  spliced; throttling and transient errors of every call are retried by botocore's
  adaptive retry mode.
* **Errors say which permission is missing** (``s3:ListBucket`` on the prefix,
  ``s3:GetObject`` on the key), as ``AwsAccessError``.
"""

from __future__ import annotations

import io
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, BinaryIO

from recommender.errors import AwsAccessError, ConfigError, SourceGone
from recommender.sources import DATA_SUFFIXES, SourceFile

# Botocore's adaptive mode adds client-side rate limiting on top of the standard
# exponential backoff with jitter; 10 attempts ride out S3's 503 SlowDown bursts.
RETRY_CONFIG = {"mode": "adaptive", "max_attempts": 10}
# Our own retries of a cut stream (botocore retries the request, not the body read).
STREAM_ATTEMPTS = 5
STREAM_BACKOFF = 0.5  # seconds, doubled per attempt, with jitter

_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^o-[a-z0-9]{4,}$")
_DENIED = ("AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch",
           "ExpiredToken", "InvalidToken", "AccountProblem", "403")


@dataclass(frozen=True)
class S3Url:
    """``s3://bucket/prefix/`` split; ``prefix`` is empty or ends with ``/``."""

    bucket: str
    prefix: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_s3_url(url: str) -> S3Url:
    """Split an ``s3://bucket[/prefix]`` URL; the prefix is treated as a folder."""
    m = re.match(r"^s3://([^/]+)/?(.*)$", url.strip())
    if m is None or not m.group(1):
        raise ConfigError(f"{url!r} is not an S3 URL like s3://my-trail-bucket/AWSLogs/")
    prefix = m.group(2)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return S3Url(m.group(1), prefix)


def is_s3_url(text: str) -> bool:
    return str(text).startswith("s3://")


def s3_client(profile: str | None = None, region: str | None = None) -> Any:
    """An S3 client from the standard credential chain (profile, env, role, SSO).

    ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` are honoured by boto3 itself.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        return session.client(
            "s3",
            config=Config(retries=RETRY_CONFIG, connect_timeout=10, read_timeout=60),  # type: ignore[arg-type]
        )
    except (ProfileNotFound, BotoCoreError) as e:
        raise AwsAccessError(f"cannot use AWS profile {profile!r}: {e}") from e


def _access_error(e: Exception, permission: str, where: str) -> AwsAccessError:
    """A botocore error as a message that names the permission and the place."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(e, NoCredentialsError):
        return AwsAccessError(
            f"no AWS credentials found for {where}: configure a profile (--profile), environment "
            f"credentials or an instance role allowed {permission}")
    if isinstance(e, EndpointConnectionError):
        return AwsAccessError(f"cannot reach S3 for {where}: {e}")
    if isinstance(e, ClientError):
        code = str(e.response.get("Error", {}).get("Code", ""))
        if code == "NoSuchBucket":
            return AwsAccessError(f"bucket of {where} does not exist; check the S3 URL")
        if code == "NoSuchKey":
            return SourceGone(f"{where} disappeared between listing and reading")
        if code in _DENIED or "denied" in code.lower() or "Forbidden" in code:
            return AwsAccessError(
                f"S3 refused {permission.split(':')[1]} on {where} ({code}): the caller needs "
                f"{permission} on it (see docs/tool-policy.json)")
        return AwsAccessError(f"S3 call for {where} failed ({code}): {e}")
    return AwsAccessError(f"S3 call for {where} failed: {e}")


# ---- streaming reads ------------------------------------------------------------------


class _ResumingBody(io.RawIOBase):
    """A GetObject body that resumes from the last byte read when the stream breaks."""

    def __init__(self, client: Any, bucket: str, key: str, etag: str | None,
                 on_get: Callable[[str], None] | None) -> None:
        self._client, self._bucket, self._key, self._etag = client, bucket, key, etag
        self._on_get = on_get
        self._pos = 0
        self._body: Any = None
        self._open()

    def _open(self) -> None:
        args: dict[str, Any] = {"Bucket": self._bucket, "Key": self._key}
        if self._etag:
            args["IfMatch"] = f'"{self._etag}"'
        if self._pos:
            args["Range"] = f"bytes={self._pos}-"
        if self._on_get:
            self._on_get(self._key)
        try:
            self._body = self._client.get_object(**args)["Body"]
        except Exception as e:  # noqa: BLE001 - every botocore error becomes a clear message
            from botocore.exceptions import ClientError

            if isinstance(e, ClientError) and e.response.get("Error", {}).get("Code") in (
                    "PreconditionFailed", "412"):
                raise SourceGone(
                    f"s3://{self._bucket}/{self._key} changed after it was listed (ETag no longer "
                    f"{self._etag}); the next run reads the new version") from e
            raise _access_error(e, "s3:GetObject", f"s3://{self._bucket}/{self._key}") from e

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        from botocore.exceptions import (
            ConnectionClosedError,
            IncompleteReadError,
            ReadTimeoutError,
            ResponseStreamingError,
        )
        from urllib3.exceptions import ProtocolError

        transient = (ConnectionClosedError, IncompleteReadError, ReadTimeoutError,
                     ResponseStreamingError, ProtocolError, ConnectionError)
        for attempt in range(STREAM_ATTEMPTS):
            try:
                data = self._body.read(len(buffer))
                n = len(data)
                buffer[:n] = data
                self._pos += n
                return n
            except transient as e:
                if attempt == STREAM_ATTEMPTS - 1:
                    raise AwsAccessError(
                        f"s3://{self._bucket}/{self._key}: the download broke {STREAM_ATTEMPTS} "
                        f"times at byte {self._pos} ({e}); rerun ingest (it resumes)") from e
                time.sleep(STREAM_BACKOFF * (2 ** attempt) * (0.5 + random.random()))
                self._close_body()
                self._open()
        return 0  # pragma: no cover - the loop returns or raises

    def _close_body(self) -> None:
        try:
            if self._body is not None:
                self._body.close()
        except Exception:  # noqa: BLE001 - closing a broken stream may fail again
            pass

    def close(self) -> None:
        self._close_body()
        super().close()


def _opener(client: Any, bucket: str, key: str, etag: str | None,
            on_get: Callable[[str], None] | None) -> Callable[[], BinaryIO]:
    def open_object() -> BinaryIO:
        return io.BufferedReader(_ResumingBody(client, bucket, key, etag, on_get), 1 << 20)
    return open_object


# ---- listing the layout ---------------------------------------------------------------


@dataclass(frozen=True)
class _Filters:
    since: date | None
    until: date | None
    accounts: frozenset[str]
    regions: frozenset[str]

    def year(self, y: int) -> bool:
        return ((self.since is None or y >= self.since.year)
                and (self.until is None or y <= self.until.year))

    def month(self, y: int, m: int) -> bool:
        return ((self.since is None or (y, m) >= (self.since.year, self.since.month))
                and (self.until is None or (y, m) <= (self.until.year, self.until.month)))

    def day(self, d: date) -> bool:
        return (self.since is None or d >= self.since) and (self.until is None or d <= self.until)


class _Lister:
    """Delimiter listings of one bucket, with access errors that name the prefix."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client, self.bucket = client, bucket

    def folders(self, prefix: str) -> list[str]:
        """Names of the sub-folders directly under ``prefix`` (without the slash)."""
        out = []
        for page in self._pages(prefix, delimiter=True):
            for cp in page.get("CommonPrefixes", []) or []:
                out.append(cp["Prefix"][len(prefix):].rstrip("/"))
        return sorted(out)

    def objects(self, prefix: str, delimiter: bool) -> Iterator[dict[str, Any]]:
        for page in self._pages(prefix, delimiter=delimiter):
            yield from page.get("Contents", []) or []

    def _pages(self, prefix: str, delimiter: bool) -> Iterator[dict[str, Any]]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            args["Delimiter"] = "/"
        try:
            yield from self.client.get_paginator("list_objects_v2").paginate(**args)
        except Exception as e:  # noqa: BLE001 - every botocore error becomes a clear message
            raise _access_error(e, "s3:ListBucket", f"s3://{self.bucket}/{prefix}") from e


def _int(text: str, lo: int, hi: int) -> int | None:
    return int(text) if text.isdigit() and lo <= int(text) <= hi else None


def _walk(ls: _Lister, prefix: str, level: str, f: _Filters, ctx: tuple[int, ...] = ()) -> Iterator[str]:
    """Day-folder prefixes under ``prefix``, which sits at ``level`` of the layout."""
    if level == "root":  # above AWSLogs/ (the trail's own key prefix, or the bucket root)
        yield from _walk(ls, prefix + "AWSLogs/", "awslogs", f)
        return
    if level == "awslogs":  # AWSLogs/: accounts, or o-<org>/ for an organisation trail
        for name in ls.folders(prefix):
            if _ORG.match(name):
                yield from _walk(ls, f"{prefix}{name}/", "accounts", f)
            elif _ACCOUNT.match(name) and (not f.accounts or name in f.accounts):
                yield from _walk(ls, f"{prefix}{name}/", "account", f)
        return
    if level == "accounts":
        for name in ls.folders(prefix):
            if _ACCOUNT.match(name) and (not f.accounts or name in f.accounts):
                yield from _walk(ls, f"{prefix}{name}/", "account", f)
        return
    if level == "account":  # only CloudTrail/ (not CloudTrail-Digest/, -Insight/, Config/ ...)
        if "CloudTrail" in ls.folders(prefix):
            yield from _walk(ls, prefix + "CloudTrail/", "service", f)
        return
    if level == "service":
        for name in ls.folders(prefix):
            if not f.regions or name in f.regions:
                yield from _walk(ls, f"{prefix}{name}/", "region", f)
        return
    if level == "region":
        for name in ls.folders(prefix):
            y = _int(name, 1970, 9999)
            if y is not None and f.year(y):
                yield from _walk(ls, f"{prefix}{name}/", "year", f, (y,))
        return
    if level == "year":
        for name in ls.folders(prefix):
            m = _int(name, 1, 12)
            if m is not None and f.month(ctx[0], m):
                yield from _walk(ls, f"{prefix}{name}/", "month", f, (ctx[0], m))
        return
    if level == "month":
        for name in ls.folders(prefix):
            d = _int(name, 1, 31)
            try:
                day = date(ctx[0], ctx[1], d) if d is not None else None
            except ValueError:
                day = None
            if day is not None and f.day(day):
                yield f"{prefix}{name}/"
        return
    if level == "day":
        yield prefix
        return
    raise AssertionError(level)  # pragma: no cover


def _start(prefix: str, f: _Filters) -> tuple[str, tuple[int, ...]] | None:
    """Where in the layout a user's prefix points, checked against the filters.

    Returns the level and the (year, month) context, or None when the prefix itself
    is excluded by a filter (e.g. ``--region`` names another region than the URL).
    ``unknown``: a prefix that is not the CloudTrail layout (read every object under it).
    """
    parts = prefix.rstrip("/").split("/") if prefix else []
    if "AWSLogs" not in parts:
        return "root", ()
    rest = parts[parts.index("AWSLogs") + 1:]
    if rest and _ORG.match(rest[0]):
        if len(rest) == 1:
            return "accounts", ()
        rest = rest[1:]
    if not rest:
        return "awslogs", ()
    if not _ACCOUNT.match(rest[0]):
        return "unknown", ()
    if f.accounts and rest[0] not in f.accounts:
        return None
    levels = ["account", "service", "region", "year", "month", "day"]
    if len(rest) >= 2 and rest[1] != "CloudTrail":
        return "unknown", ()
    if len(rest) >= 3 and f.regions and rest[2] not in f.regions:
        return None
    ctx: list[int] = []
    for i, part in enumerate(rest[3:6]):
        v = _int(part, *((1970, 9999), (1, 12), (1, 31))[i])
        if v is None:
            return "unknown", ()
        ctx.append(v)
    if len(ctx) >= 1 and not f.year(ctx[0]):
        return None
    if len(ctx) >= 2 and not f.month(ctx[0], ctx[1]):
        return None
    if len(ctx) == 3:
        try:
            if not f.day(date(*ctx)):
                return None
        except ValueError:
            return "unknown", ()
    return levels[min(len(rest), 6) - 1], tuple(ctx[:2])


def s3_sources(
    url: str,
    since: date | None = None,
    until: date | None = None,
    accounts: Iterable[str] = (),
    regions: Iterable[str] = (),
    client: Any = None,
    *,
    profile: str | None = None,
    on_get: Callable[[str], None] | None = None,
) -> Iterator[SourceFile]:
    """Every CloudTrail log object under ``url`` that the filters keep, as ``SourceFile``;
    or the one object ``url`` names, when it names a data file (filters do not apply).

    ``since``/``until`` are inclusive and apply to the day folders CloudTrail files
    objects under (UTC delivery day: an event from 23:58 may sit in the next day's
    folder, so choose ``until`` a day late rather than early). Objects are yielded
    in key order with their ETag; nothing is read until ingest opens one. ``on_get``
    is called with the key of every GetObject request (used for accounting and tests).
    """
    loc = parse_s3_url(url)
    accounts = frozenset(accounts)
    regions = frozenset(regions)
    for a in accounts:
        if not _ACCOUNT.match(a):
            raise ConfigError(f"--account {a!r} is not a 12-digit AWS account id")
    if since and until and since > until:
        raise ConfigError(f"--since {since} is after --until {until}")
    f = _Filters(since, until, accounts, regions)
    client = client or s3_client(profile)
    single = _single_object(client, url, on_get)
    if single is not None:
        yield single
        return
    ls = _Lister(client, loc.bucket)
    start = _start(loc.prefix, f)
    if start is None:
        return
    level, ctx = start
    if level == "root" and "AWSLogs" not in ls.folders(loc.prefix):
        level = "unknown"
    if level == "unknown":
        # Not the CloudTrail layout (a copy, an export): every data file under the prefix.
        folders: Iterable[str] = [loc.prefix]
        delimiter = False
    else:
        folders = _walk(ls, loc.prefix, level, f, ctx)
        delimiter = True
    for folder in folders:
        for obj in ls.objects(folder, delimiter):
            key = obj["Key"]
            if "CloudTrail-Digest" in key or not key.lower().endswith(DATA_SUFFIXES):
                continue
            yield _object_source(client, loc.bucket, key, obj.get("Size"), obj.get("ETag"),
                                 obj.get("LastModified"), on_get)


def _object_source(client: Any, bucket: str, key: str, size: Any, etag: Any, modified: Any,
                   on_get: Callable[[str], None] | None) -> SourceFile:
    tag = str(etag or "").strip('"') or None
    if isinstance(modified, datetime) and modified.tzinfo is not None:
        modified = modified.astimezone(timezone.utc).replace(tzinfo=None)
    return SourceFile(uri=f"s3://{bucket}/{key}", size=int(size or 0), mtime=modified, etag=tag,
                      opener=_opener(client, bucket, key, tag, on_get))


def _single_object(client: Any, url: str, on_get: Callable[[str], None] | None) -> SourceFile | None:
    """The object ``url`` names, when it names one data file (``s3://b/exports/x.json.gz``)
    that exists; None otherwise (the URL is then read as a prefix)."""
    from botocore.exceptions import ClientError

    m = re.match(r"^s3://([^/]+)/(.+)$", url.strip())
    if m is None or m.group(2).endswith("/") or not m.group(2).lower().endswith(DATA_SUFFIXES):
        return None
    bucket, key = m.groups()
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as e:
        if str(e.response.get("Error", {}).get("Code", "")) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise _access_error(e, "s3:GetObject", url) from e
    except Exception as e:  # noqa: BLE001 - every botocore error becomes a clear message
        raise _access_error(e, "s3:GetObject", url) from e
    return _object_source(client, bucket, key, head.get("ContentLength"), head.get("ETag"),
                          head.get("LastModified"), on_get)
