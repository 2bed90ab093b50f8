"""The report end to end on sample_logs/, and in a real browser.

The bundled sample goes through the real pipeline (ingest, iam load, analyze, then
report, which recommends for the same window), and the HTML's numbers are checked
against the database. Then headless Chromium renders the file offline under its
own CSP: a screenshot that is not blank, the page background that only our
(hash-allowed) stylesheet sets, and the role counter that only our (hash-allowed)
script writes show together that exactly our own code runs. The browser part is
skipped, with the reason, where no Chromium is installed (`.ci/run` installs it).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from test_report import _parse

from recommender.cli import main
from recommender.render.context import anchor_for

SAMPLE_LOGS = Path(__file__).resolve().parent.parent / "sample_logs"

BACKGROUND = (0xF7, 0xF8, 0xFA)  # --bg in templates/assets/report.css


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no headless Chromium on PATH (Debian: apt-get install chromium)")


def _flags(profile: Path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]


def screenshot(html: Path, png: Path, tmp: Path, size: str = "1400,2000") -> None:
    cmd = [
        chromium(),
        *_flags(tmp / "profile-shot"),
        f"--screenshot={png}",
        f"--window-size={size}",
        html.resolve().as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=90)


def dump_dom(html: Path, tmp: Path) -> str:
    cmd = [chromium(), *_flags(tmp / "profile-dom"), "--dump-dom", html.resolve().as_uri()]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=90).stdout


def _unfilter(kind: int, line: bytes, prev: bytes, bpp: int) -> bytes:
    """One PNG scanline with its filter undone (RFC 2083, 6.2-6.6)."""
    if kind == 0:
        return line
    if kind == 2:
        return bytes((x + y) & 0xFF for x, y in zip(line, prev))
    out = bytearray(line)
    if kind == 1:
        for i in range(bpp, len(out)):
            out[i] = (out[i] + out[i - bpp]) & 0xFF
    elif kind == 3:
        for i in range(len(out)):
            left = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((left + prev[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(len(out)):
            a = out[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return bytes(out)


def read_png(path: Path, max_rows: int | None = None) -> tuple[int, int, list[tuple[int, ...]]]:
    """(width, height, RGB pixels of the first ``max_rows`` rows) of an 8-bit RGB/RGBA
    non-interlaced PNG, which is what Chromium writes; no imaging library needed."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw, stride = zlib.decompress(idat), width * channels
    pixels: list[tuple[int, ...]] = []
    prev = bytes(stride)
    for row in range(min(height, max_rows or height)):
        start = row * (stride + 1)
        line = _unfilter(raw[start], raw[start + 1 : start + 1 + stride], prev, channels)
        pixels.extend(zip(line[0::channels], line[1::channels], line[2::channels]))
        prev = line
    return width, height, pixels


def check_rendered(html: Path, tmp: Path, roles: int) -> Path:
    """Screenshot ``html`` and check it is a styled, scripted, non-blank page; returns the PNG."""
    png = tmp / "report.png"
    screenshot(html, png, tmp)
    # The first 1,200 rows hold the overview, the role table and the charts.
    width, height, pixels = read_png(png, max_rows=1200)
    assert (width, height) == (1400, 2000)
    colours = {p for p in pixels[::7]}
    assert len(colours) > 200, f"screenshot looks blank: {len(colours)} colours"
    # The page background comes only from our stylesheet: blocked CSS would leave white.
    assert sum(1 for p in pixels[::97] if p == BACKGROUND) > len(pixels[::97]) // 20
    # The role counter is rewritten only by our script: a blocked script leaves "N roles".
    assert f"{roles} of {roles} roles" in dump_dom(html, tmp)
    return png


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory, sample_db: Path) -> dict[str, Path]:
    """The session's sample database (ingest, iam load with the SCP, analyze), copied, then
    `recommender report` (which runs the recommend stage for the same window)."""
    import shutil

    tmp = tmp_path_factory.mktemp("sample")
    dbf, html, md = tmp / "sample.duckdb", tmp / "report.html", tmp / "summary.md"
    shutil.copyfile(sample_db, dbf)
    args = ["report", "--db", str(dbf), "--out", str(html), "--markdown-out", str(md)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, f"report: {result.output}"
    return {"db": dbf, "html": html, "md": md}


@pytest.mark.slow
def test_sample_report_numbers_match_the_database(sample_report: dict[str, Path]) -> None:
    con = duckdb.connect(str(sample_report["db"]), read_only=True)
    try:
        rows = con.execute(
            "SELECT principal_arn, status, count(DISTINCT lower(action)) FROM role_action_status "
            "GROUP BY ALL"
        ).fetchall()
        roles = [r[0] for r in con.execute("SELECT principal_arn FROM roles").fetchall()]
    finally:
        con.close()
    counts: dict[str, dict[str, int]] = {}
    for arn, status, n in rows:
        counts.setdefault(arn, {})[status] = n
    page = _parse(sample_report["html"].read_text(encoding="utf-8"))
    for arn in set(roles) | set(counts):
        assert anchor_for(arn) in page.ids, arn
    by_anchor = {}
    for row in page.role_rows:
        by_anchor[row[0].split()[0]] = row
    assert len(page.role_rows) == len(set(roles) | set(counts))
    granted_total = 0
    for arn, statuses in counts.items():
        granted = sum(
            statuses.get(s, 0) for s in ("used", "unused", "never_needed", "unobservable")
        )
        granted_total += granted
        name = arn.rsplit("/", 1)[-1]
        assert by_anchor[name][1] == f"{granted:,}", name
        assert by_anchor[name][2] == f"{statuses.get('used', 0):,}", name
    assert f"{granted_total:,}" in " ".join(page.text)
    # The recommend stage ran for the same window: verdicts and diffs are in the page.
    text = " ".join(page.text)
    assert "recommend stage is not installed" not in text and "No recommendation:" not in text
    assert text.count("Verdict:") == len(roles)  # every role has one; IAM users are not rewritten
    assert page.tags.count("script") == 1
    assert sample_report["md"].read_text(encoding="utf-8").startswith("## IAM right-sizing review")


@pytest.mark.slow
def test_sample_report_renders_in_headless_chromium(sample_report: dict[str, Path]) -> None:
    chromium()
    html = sample_report["html"]
    page = _parse(html.read_text(encoding="utf-8"))
    png = check_rendered(html, html.parent, len(page.role_rows))
    assert png.stat().st_size > 50_000
