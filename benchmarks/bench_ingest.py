"""Measure `recommender ingest` against `gzip -dc` over the same CloudTrail corpus.

The issue sets two targets for ingest on a 2-core machine: ingest + aggregate
within 1.5x the wall time of `gzip -dc` over the same files, and peak RSS under
1.5 GiB at 5 million events. This script makes those claims checkable:

1. generates (once, deterministically) a corpus of N events in the S3 delivery
   layout `AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`, each file
   a minified `{"Records":[...]}` like CloudTrail writes, ~1.5 KB per record
   uncompressed with a realistic field set (assumed-role agents, IAM users, AWS
   services, S3/DynamoDB/Lambda data events with `resources[]`, errors);
2. warms the page cache, then times `gzip -dc` over every file (the baseline,
   measured in the same run);
3. runs `python -m recommender ingest` on the corpus into a fresh database in a
   subprocess, timing it and reading its CPU time and peak RSS from ``wait4()``, and
   sampling its resident set every 0.2 s (printed as the peak of each tenth of the
   run, which shows whether memory levels off as input grows);
4. prints events/s, MB/s (uncompressed), the ratio to `gzip -dc` and peak RSS;
5. before each round, probes the machine's memory latency (random dependent loads over
   256 MiB, in a child process) and, over three rounds or more, fits `gzip -dc`'s time,
   the ingest's and their ratio to it: on a shared host the ingest, which is bound by
   memory, slows when neighbours contend for the L3 cache and memory, and `gzip -dc`
   barely does.

Usage::

    python benchmarks/bench_ingest.py --events 500000
    python benchmarks/bench_ingest.py --events 5000000 --delete-corpus

The corpus lives under ``benchmarks/.corpus/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
CORPUS_ROOT = HERE / ".corpus"
RECORDS_PER_FILE = 500
RSS_SAMPLE_SECONDS = 0.2
RSS_PARTS = 10  # the ingest's resident set is reported as the peak of each tenth of its run
# The memory latency probe: dependent loads at random places in this much memory, far more
# than the shared L3 cache (32 MiB on the machine measured), against the same loads from
# a table that stays in cache.
LATENCY_MIB = 256
LATENCY_CACHED_MIB = 1
LATENCY_LOADS = 1_000_000
ACCOUNT = "123456789012"
REGIONS = ["us-east-1", "eu-west-1"]
START = datetime(2026, 1, 1, tzinfo=timezone.utc)

ROLES = [
    ("/service-role/", "bedrock-agent-exec"),
    ("/", "lambda-tool-search"),
    ("/", "lambda-tool-tickets"),
    ("/ecs/", "ecs-worker"),
    ("/", "ci-deploy"),
    ("/", "shared-agents"),
]
SESSIONS = ["agent-a", "agent-b", "i-0abc1234def567890", "GitHubActions", "botocore-session-1"]
USER_AGENTS = [
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.2",
    "aws-sdk-java/2.25.11 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.10 Java/17.0.10 exec-env/AWS_ECS_FARGATE",
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5 exe/x86_64.ubuntu.22 prompt/off command/s3.cp",
    "bedrock-agent.amazonaws.com",
]

# (eventSource, eventName, readOnly, data event?, resource type)
CALLS = [
    ("s3.amazonaws.com", "GetObject", True, True, "AWS::S3::Object"),
    ("s3.amazonaws.com", "PutObject", False, True, "AWS::S3::Object"),
    ("s3.amazonaws.com", "ListObjects", True, False, "AWS::S3::Bucket"),
    ("dynamodb.amazonaws.com", "GetItem", True, True, "AWS::DynamoDB::Table"),
    ("dynamodb.amazonaws.com", "PutItem", False, True, "AWS::DynamoDB::Table"),
    ("lambda.amazonaws.com", "Invoke", False, True, "AWS::Lambda::Function"),
    ("bedrock.amazonaws.com", "InvokeModel", True, False, None),
    ("sts.amazonaws.com", "AssumeRole", True, False, "AWS::IAM::Role"),
    ("kms.amazonaws.com", "Decrypt", True, False, "AWS::KMS::Key"),
    ("secretsmanager.amazonaws.com", "GetSecretValue", True, False, None),
    ("logs.amazonaws.com", "CreateLogStream", False, False, None),
    ("ec2.amazonaws.com", "DescribeInstances", True, False, None),
]


# Where calls come from. A workload's session keeps its STS credentials for about an hour
# and calls from one place (a function's execution environment, a task's ENI, a runner)
# with one SDK, so by default the access key, source IP (from a pool of IPS_PER_ROLE per
# role) and user agent follow from the (role, session, hour). --unique-sessions draws the
# IP, key and user agent per event instead: the worst case for sessions_daily, about one
# row per event (the v1 corpus of earlier runs was close to that).
IPS_PER_ROLE = 24


def _session(role: str, session: str, when: datetime) -> tuple[str, int, int]:
    """(access key, IP pool index, user agent index) of a role session in a given hour."""
    digest = hashlib.blake2b(f"{role}|{session}|{when:%Y%m%d%H}".encode(), digest_size=8).digest()
    return f"ASIA{digest.hex().upper()}", digest[0] % IPS_PER_ROLE, digest[1] % len(USER_AGENTS)


def _record(rng: random.Random, when: datetime, region: str, unique_sessions: bool = False) -> dict:
    source, name, read_only, data_event, rtype = rng.choice(CALLS)
    path, role = rng.choice(ROLES)
    kind = rng.random()
    session = rng.choice(SESSIONS)
    if unique_sessions:
        key = f"ASIA{rng.getrandbits(64):016X}"
        source_ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        user_agent = rng.choice(USER_AGENTS)
    else:
        key, ip_index, ua_index = _session(role, session, when)
        source_ip = f"10.{ROLES.index((path, role))}.{ip_index}.10"
        user_agent = USER_AGENTS[ua_index]
    if kind < 0.85:
        identity = {
            "type": "AssumedRole",
            "principalId": f"AROA{rng.getrandbits(64):016X}:{session}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
            "accountId": ACCOUNT,
            "accessKeyId": key,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": f"AROA{rng.getrandbits(64):016X}",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role{path}{role}",
                    "accountId": ACCOUNT,
                    "userName": role,
                },
                "webIdFederationData": {},
                "attributes": {
                    "creationDate": (when - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "mfaAuthenticated": "false",
                },
            },
        }
    elif kind < 0.95:
        identity = {
            "type": "IAMUser",
            "principalId": f"AIDA{rng.getrandbits(64):016X}",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/legacy-bot",
            "accountId": ACCOUNT,
            "accessKeyId": "AKIAEXAMPLELEGACY001",
            "userName": "legacy-bot",
        }
    else:
        identity = {"type": "AWSService", "invokedBy": "lambda.amazonaws.com"}
    bucket = rng.choice(["agent-data", "agent-artifacts", "ci-builds"])
    key = f"tenants/{rng.randrange(500)}/docs/{rng.getrandbits(48):012x}.json"
    resources = []
    request: dict = {}
    if source == "s3.amazonaws.com":
        request = {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com", "key": key}
        resources = [
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
        ]
    elif rtype == "AWS::DynamoDB::Table":
        table = rng.choice(["sessions", "tickets"])
        request = {"tableName": table, "key": {"pk": {"S": f"user#{rng.randrange(10**6)}"}}}
        resources = [{"accountId": ACCOUNT, "type": rtype,
                      "ARN": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}"}]
    elif rtype == "AWS::Lambda::Function":
        fn = rng.choice(["search-tool", "ticket-tool"])
        request = {"functionName": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{fn}",
                   "invocationType": "RequestResponse"}
        resources = [{"accountId": ACCOUNT, "type": rtype,
                      "ARN": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{fn}"}]
    elif source == "bedrock.amazonaws.com":
        request = {"modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0"}
    elif rtype == "AWS::KMS::Key":
        resources = [{"accountId": ACCOUNT, "type": rtype,
                      "ARN": f"arn:aws:kms:{region}:{ACCOUNT}:key/{uuid.UUID(int=rng.getrandbits(128))}"}]
        request = {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    elif rtype == "AWS::IAM::Role":
        target = rng.choice(ROLES)[1]
        request = {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/{target}", "roleSessionName": "s1",
                   "durationSeconds": 3600}
        resources = [{"accountId": ACCOUNT, "type": rtype, "ARN": f"arn:aws:iam::{ACCOUNT}:role/{target}"}]
    else:
        request = {"logGroupName": f"/aws/lambda/{role}", "maxResults": 50}
    error = rng.random()
    rec: dict = {
        "eventVersion": "1.09" if data_event else "1.08",
        "userIdentity": identity,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": request,
        "responseElements": None if read_only else {"x-amz-request-charged": None,
                                                    "requestId": f"{rng.getrandbits(64):016x}"},
        "additionalEventData": {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": rng.randrange(10**5),
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": f"{rng.getrandbits(256):064x}",
            "bytesTransferredOut": rng.randrange(10**6),
        },
        "requestID": f"{rng.getrandbits(64):016X}",
        "eventID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "readOnly": read_only,
        "resources": resources,
        "eventType": "AwsApiCall",
        "managementEvent": not data_event,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Data" if data_event else "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{source.split('.')[0]}.{region}.amazonaws.com",
        },
    }
    if error < 0.03:
        rec["errorCode"] = "AccessDenied"
        rec["errorMessage"] = f"User: {identity.get('arn', 'x')} is not authorized to perform: {name}"
    elif error < 0.04:
        rec["errorCode"] = "ThrottlingException"
        rec["errorMessage"] = "Rate exceeded"
    if identity["type"] == "AWSService":
        rec["sharedEventID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return rec


def _write_file(args: tuple[Path, int, int, bool]) -> tuple[int, int]:
    """Write file number ``index`` with ``count`` records; returns (records, uncompressed bytes)."""
    root, index, count, unique_sessions = args
    rng = random.Random(index)
    region = REGIONS[index % len(REGIONS)]
    # ~288 five-minute files per region per day, as a busy trail writes them.
    when = START + timedelta(minutes=5 * (index // len(REGIONS)))
    folder = root / "AWSLogs" / ACCOUNT / "CloudTrail" / region / when.strftime("%Y/%m/%d")
    folder.mkdir(parents=True, exist_ok=True)
    records = [_record(rng, when + timedelta(seconds=rng.randrange(300)), region, unique_sessions)
               for _ in range(count)]
    records.sort(key=lambda r: r["eventTime"])
    body = json.dumps({"Records": records}, separators=(",", ":")).encode()
    name = f"{ACCOUNT}_CloudTrail_{region}_{when.strftime('%Y%m%dT%H%MZ')}_{index:08d}.json.gz"
    with open(folder / name, "wb") as fh:
        fh.write(gzip.compress(body, compresslevel=6, mtime=0))
    return count, len(body)


def generate(root: Path, events: int, unique_sessions: bool = False) -> tuple[int, int, int]:
    """Create the corpus if missing; returns (files, events, uncompressed bytes)."""
    marker = root.parent / f"{root.name}.corpus.json"  # outside the tree that gets ingested
    if marker.exists():
        meta = json.loads(marker.read_text())
        return meta["files"], meta["events"], meta["bytes"]
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    marker.unlink(missing_ok=True)
    jobs = []
    left, index = events, 0
    while left > 0:
        n = min(RECORDS_PER_FILE, left)
        jobs.append((root, index, n, unique_sessions))
        left -= n
        index += 1
    total = nbytes = 0
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for count, size in pool.map(_write_file, jobs, chunksize=16):
            total += count
            nbytes += size
    marker.write_text(json.dumps({"files": len(jobs), "events": total, "bytes": nbytes}))
    return len(jobs), total, nbytes


RESOURCES_ONLY_SNIPPET = """
import json, sys
from recommender.allocators import keep_freed_memory
keep_freed_memory()  # as the command line does, before duckdb is imported
from recommender.db import connect
from recommender.ingest import ingest
con = connect(sys.argv[2])
con.execute(\"\"\"CREATE OR REPLACE MACRO event_touched_resources_of(event_source, op, resources,
    rp, q, account_id, region, p) AS
    [{'arn': r.arn, 'kind': r.type} FOR r IN coalesce(resources, []) IF r.arn IS NOT NULL]\"\"\")
con.execute("CREATE OR REPLACE MACRO er_reads_request(event_source) AS false")
print(json.dumps(ingest(con, [sys.argv[1]]).to_dict()))
"""


def _files(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*.json.gz"))


def _rss_kib(pid: int) -> int | None:
    """The current resident set of process ``pid`` in KiB (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


class ChildRun(NamedTuple):
    """What ``run_child`` measured of one child process."""

    wall: float  # seconds, from start to the exit wait4() sees
    cpu: float  # user + system seconds
    peak_kib: int  # peak resident set
    faults: int  # minor page faults
    done: subprocess.CompletedProcess | None  # its output, when captured


def run_child(cmd: list[str], stdin_path: Path | None = None, capture: bool = False,
              rss_samples: list[tuple[float, int]] | None = None) -> ChildRun:
    """Run ``cmd`` and measure it (``ChildRun``). CPU, peak RSS and page faults are this
    child's alone, from wait4() (for xargs, its gzip children's too); a child that fails
    raises unless its output is captured.
    With ``rss_samples``, the child's resident set is also appended to it every
    ``RSS_SAMPLE_SECONDS`` as (seconds since start, KiB): how memory evolves over the run."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            open(stdin_path or os.devnull, "rb") as stdin:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdin=stdin, stdout=out if capture else subprocess.DEVNULL,
                                 stderr=err if capture else None)
        # Sampled on a thread, so that the wall time is the child's exit as wait4() sees
        # it, not the first poll after it (which added 0-0.2 s to every ingest).
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(RSS_SAMPLE_SECONDS):
                rss = _rss_kib(child.pid)
                if rss is not None and not stop.is_set():  # not a pid reused after the exit
                    rss_samples.append((time.perf_counter() - start, rss))

        sampler = threading.Thread(target=sample, daemon=True) if rss_samples is not None else None
        if sampler:
            sampler.start()
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        stop.set()
        if sampler:
            sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        if not capture and child.returncode != 0:
            raise subprocess.CalledProcessError(child.returncode, cmd)
        done = None
        if capture:
            out.seek(0)
            err.seek(0)
            done = subprocess.CompletedProcess(cmd, child.returncode, out.read().decode(), err.read().decode())
    return ChildRun(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, usage.ru_minflt, done)


def _chase_table(mib: int) -> memoryview:
    """``mib`` MiB of int64 slots, each holding the index of the next slot to visit: one
    cycle through every slot (an LCG modulo a power of two with a % 4 == 1 and c odd), in
    an order no hardware prefetcher follows. Built by DuckDB, read through Arrow."""
    import duckdb  # the project's own dependencies; imported late so generating needs nothing

    n = (mib << 20) // 8
    table = duckdb.sql(f"SELECT ((i * 1103515245 + 12345) & {n - 1})::BIGINT FROM range({n}) t(i)")
    column = table.arrow().read_all().column(0).combine_chunks()
    return memoryview(column.buffers()[1]).cast("q")


def _chase(slots: memoryview, loads: int) -> float:
    x = 0
    start = time.perf_counter()
    for _ in range(loads):
        x = slots[x]  # the next address is the value loaded: each load waits for the last
    return time.perf_counter() - start


def memory_latency_ns(mib: int = LATENCY_MIB, loads: int = LATENCY_LOADS) -> float:
    """What one load from a random place in ``mib`` MiB costs beyond one that hits the
    cache, in nanoseconds: the machine's memory latency as a program sees it now (TLB miss
    included). On a shared host it rises when neighbours contend for the L3 cache and
    memory; an ingest, which streams each object through several buffers larger than the
    L2 cache, slows with it, while `gzip -dc` works in cache and barely moves
    (docs/benchmarks.md, "Fourteenth session"). The interpreter's cost per load is
    measured on the cached table and taken off."""
    far, near = _chase_table(mib), _chase_table(LATENCY_CACHED_MIB)
    _chase(near, min(loads, 10_000))  # warm the cached table and the loop
    return max(0.0, (_chase(far, loads) - _chase(near, loads)) / loads * 1e9)


def _latency_in_child(mib: int) -> float:
    """``memory_latency_ns(mib)`` measured in a child process, so that the probe's tables
    never count in this process's memory, which the next child's peak RSS would inherit
    (Linux carries the high-water mark across fork and exec)."""
    snippet = "import sys; sys.path.insert(0, sys.argv[1]); import bench_ingest; " \
              "print(bench_ingest.memory_latency_ns(int(sys.argv[2])))"
    run = run_child([sys.executable, "-c", snippet, str(HERE), str(mib)], capture=True)
    if run.done.returncode != 0:
        raise RuntimeError(f"memory latency probe failed: {run.done.stderr}")
    return float(run.done.stdout)


def _latency_fit(latencies: list[float], values: list[float], unit: str) -> str | None:
    """How ``values`` (one per round) follow the memory latency measured before each round:
    Pearson's r and the least-squares line's value at the lowest and highest latency seen,
    or None when there are too few rounds (or no spread) to say."""
    if len(latencies) < 3:
        return None
    try:
        r = statistics.correlation(latencies, values)
        fit = statistics.linear_regression(latencies, values)
    except statistics.StatisticsError:  # every round saw the same latency, or the same value
        return None
    lo, hi = min(latencies), max(latencies)
    return (f"r = {r:5.2f} ({fit.intercept + fit.slope * lo:.2f}{unit} at {lo:.0f} ns, "
            f"{fit.intercept + fit.slope * hi:.2f}{unit} at {hi:.0f} ns)")


def _rss_profile(samples: list[tuple[float, int]], wall: float, parts: int = RSS_PARTS) -> str:
    """The largest sampled RSS (MiB) in each of ``parts`` equal slices of the run's time."""
    peaks: list[int | None] = [None] * parts
    for t, kib in samples:
        i = min(int(t / wall * parts), parts - 1)
        peaks[i] = max(peaks[i] or 0, kib)
    return " ".join("-" if k is None else f"{k / 1024:.0f}" for k in peaks)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=500_000)
    ap.add_argument("--corpus", type=Path, default=None,
                    help="default: benchmarks/.corpus/v2-<N> (v2-<N>-unique with --unique-sessions)")
    ap.add_argument("--unique-sessions", action="store_true",
                    help="give every event its own source IP and STS key (worst case for sessions_daily)")
    ap.add_argument("--delete-corpus", action="store_true", help="remove the corpus afterwards")
    ap.add_argument("--keep-db", action="store_true", help="keep the database (prints its path)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure gzip -dc and ingest back to back this many times; report the median round")
    ap.add_argument("--resources-only", action="store_true",
                    help="replace event_touched_resources(_of) by the resources[]-only version and "
                         "declare that it reads no request (er_reads_request): the ingest stage alone")
    ap.add_argument("--latency-mib", type=int, default=LATENCY_MIB,
                    help="memory for the latency probe run before each round (0: no probe)")
    args = ap.parse_args()

    # v2: source IPs and STS keys per session (v1, the unnamed corpus of earlier runs, gave
    # every event its own, as --unique-sessions still does).
    root = args.corpus or CORPUS_ROOT / f"v2-{args.events}{'-unique' if args.unique_sessions else ''}"
    t0 = time.perf_counter()
    nfiles, nevents, nbytes = generate(root, args.events, args.unique_sessions)
    print(f"corpus: {root} ({nfiles} files, {nevents} events, {nbytes / 1e6:.0f} MB uncompressed, "
          f"{sum(p.stat().st_size for p in root.rglob('*.json.gz')) / 1e6:.0f} MB gzip) "
          f"ready in {time.perf_counter() - t0:.1f}s", flush=True)

    files = _files(root)
    tmp = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    listing = tmp / "files.txt"
    listing.write_bytes("\0".join(files).encode())
    # Warm the page cache so neither measurement pays for the disk.
    run_child(["xargs", "-0", "cat"], listing)
    db = tmp / "db" / "bench.duckdb"
    if args.resources_only:
        # The ingest stage alone: usage_daily from CloudTrail's resources[] only, as the
        # ingest contract defines it, without the mapping stage's request-parameter
        # extension of event_touched_resources (measured separately without this flag).
        cmd = [sys.executable, "-c", RESOURCES_ONLY_SNIPPET, str(root), str(db)]
    else:
        cmd = [sys.executable, "-m", "recommender", "ingest", str(root), "--db", str(db),
               "--format", "json"]
    print(f"command: {' '.join(cmd) if not args.resources_only else 'python -c <resources-only ingest>'}")
    # Each round times gzip -dc and then the ingest (into a fresh database) back to back,
    # so a ratio compares two runs made under the same machine conditions; the summary
    # takes the median round. This machine's speed drifts by 20-40% over minutes.
    rounds = []
    latencies: list[float] = []
    for n in range(1, args.rounds + 1):
        # The machine's memory latency just before the round: what the ratio follows.
        if args.latency_mib:
            latencies.append(_latency_in_child(args.latency_mib))
        base = run_child(["xargs", "-0", "gzip", "-dc"], listing)
        t_gzip, gzip_cpu = base.wall, base.cpu
        shutil.rmtree(db.parent, ignore_errors=True)  # a fresh database every round
        db.parent.mkdir()
        samples: list[tuple[float, int]] = []
        run = run_child(cmd, capture=True, rss_samples=samples)
        t_ingest, ingest_cpu, peak_kib, proc = run.wall, run.cpu, run.peak_kib, run.done
        if proc.returncode not in (0, 3):
            print(proc.stderr, file=sys.stderr)
            return 1
        rounds.append((t_gzip, t_ingest, peak_kib))
        print(f"round {n}: gzip -dc {t_gzip:6.2f} s (CPU {gzip_cpu:5.2f} s)  ingest {t_ingest:6.2f} s "
              f"(CPU {ingest_cpu:5.2f} s)  ratio {t_ingest / t_gzip:4.2f}x  peak RSS {peak_kib / 1024:5.0f} MiB",
              flush=True)
        # Memory must stay flat as input grows: the peak of each tenth of the run (files
        # are read at a steady rate) shows whether it levels off or keeps climbing.
        print(f"         RSS by tenth of the run (MiB): {_rss_profile(samples, t_ingest)}", flush=True)
        if latencies:
            print(f"         memory latency before the round: {latencies[-1]:.0f} ns "
                  f"(random loads over {args.latency_mib} MiB, beyond cached ones)", flush=True)
    summary = json.loads(proc.stdout)
    db_mb = db.stat().st_size / 1e6
    import duckdb  # the project's own dependency; imported late so generating needs nothing

    with duckdb.connect(str(db), read_only=True) as con:
        usage_rows, session_rows = con.execute(
            "SELECT (SELECT count(*) FROM usage_daily), (SELECT count(*) FROM sessions_daily)"
        ).fetchall()[0]
    if not args.keep_db:
        shutil.rmtree(tmp)

    t_gzip, t_ingest, _ = sorted(rounds, key=lambda r: r[1] / r[0])[len(rounds) // 2]
    ratios = sorted(r[1] / r[0] for r in rounds)
    print(f"stored={summary['stored']} duplicates={summary['duplicates']} rejected={summary['rejected']} "
          f"files={summary['files']} db={db_mb:.0f} MB usage_daily={usage_rows:,} "
          f"sessions_daily={session_rows:,}")
    label = "median round" if len(rounds) > 1 else "one round"
    print(f"{label}:")
    print(f"gzip -dc     : {t_gzip:8.2f} s  {nbytes / 1e6 / t_gzip:8.1f} MB/s")
    print(f"ingest       : {t_ingest:8.2f} s  {nbytes / 1e6 / t_ingest:8.1f} MB/s  "
          f"{nevents / t_ingest:,.0f} events/s")
    spread = f" (rounds: {', '.join(f'{r:.2f}' for r in ratios)})" if len(rounds) > 1 else ""
    print(f"ratio        : {t_ingest / t_gzip:8.2f} x gzip -dc (target <= 1.5){spread}")
    print(f"peak RSS     : {max(r[2] for r in rounds) / 1024:8.0f} MiB (target < 1536; largest round)")
    if latencies:
        print(f"memory       : {', '.join(f'{ns:.0f}' for ns in latencies)} ns before rounds 1-{len(latencies)}")
        # Each measure against the latency: the ingest's time follows it, gzip's barely.
        fits = [(label, _latency_fit(latencies, values, unit)) for label, values, unit in (
            ("gzip -dc", [r[0] for r in rounds], " s"), ("ingest", [r[1] for r in rounds], " s"),
            ("ratio", [r[1] / r[0] for r in rounds], "x"))]
        for i, (label, fit) in enumerate(f for f in fits if f[1]):
            print(f"{'fit to memory' if i == 0 else '':13s}: {label:8s} {fit}")
    if args.keep_db:
        print(f"database     : {db}")
    if args.delete_corpus:
        shutil.rmtree(root)
        (root.parent / f"{root.name}.corpus.json").unlink(missing_ok=True)
        print(f"deleted {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
