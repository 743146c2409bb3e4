"""`voteaudit watch` against a feed served on loopback whose file changes between fetches, one fetch failing."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.feeds.snapshots import CANDIDATES, MAPPING, snapshots, write_csv
from tests.feeds.test_changes import FLAGS
from voteaudit.ingest.watch import FetchError, Watch, fetch, run
from voteaudit.store import open_store


class Feed:
    """What the server answers, request by request: bytes (200) or an int (that HTTP error status)."""

    def __init__(self, answers: list[bytes | int]) -> None:
        self.answers = answers
        self.served = 0


@pytest.fixture
def serve() -> Iterator[Callable[[list[bytes | int]], tuple[str, Feed]]]:
    servers = []

    def start(answers: list[bytes | int]) -> tuple[str, Feed]:
        feed = Feed(answers)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                answer = feed.answers[min(feed.served, len(feed.answers) - 1)]
                feed.served += 1
                if isinstance(answer, int):
                    self.send_error(answer)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/results.csv", feed

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def csv_bytes(tmp: Path) -> list[bytes]:
    return [write_csv(s, tmp / f"s{i}.csv").read_bytes() for i, s in enumerate(snapshots())]


def test_watch_stores_a_version_when_bytes_change_and_never_a_failed_fetch(
        cli: Callable[..., object], db: str, tmp_path: Path, serve: Callable) -> None:
    v1, v2, v3 = csv_bytes(tmp_path)
    url, feed = serve([v1, v1, 503, v2, v2, v3])
    res = cli("watch", url, *FLAGS, "--every", "0.01", "--times", "6", json_out=True)
    assert res.exit_code == 0, res.output
    fetches = res.doc["fetches"]
    assert feed.served == 6
    assert [f["status"] for f in fetches] == ["version", "unchanged", "error", "version", "unchanged", "version"]
    assert "HTTP 503" in fetches[2]["error"] and fetches[2]["retry_in"] == pytest.approx(0.02)
    assert [f["version"]["version"] for f in fetches if f["status"] == "version"] == [1, 2, 3]
    shas = [hashlib.sha256(b).hexdigest() for b in (v1, v2, v3)]
    assert [f["sha256"] for f in fetches if f["status"] == "version"] == shas
    # one line per fetch on stderr under --json
    assert len([ln for ln in res.stderr.splitlines() if " fetch " in ln]) == 6
    keep = Path(db + ".fetched")
    for sha, data in zip(shas, (v1, v2, v3), strict=True):
        assert (keep / f"{sha}.csv").read_bytes() == data
        note = json.loads((keep / f"{sha}.json").read_text())
        assert note["fetches"][0]["url"] == url and note["fetches"][0]["status"] == 200
    with open_store(db, read_only=True) as store:
        versions = store.versions("cne")
        assert [v["sha256"] for v in versions] == shas
        assert [v["as_of"] for v in versions] == [fetches[i]["at"] for i in (0, 3, 5)]
        m = store.matrix("cne")
        assert dict(zip(m.unit_ids, m.votes[:, CANDIDATES.index("B")].tolist(), strict=True))["2.3"] == \
            snapshots()[2]["2.3"]["B"]
    doc = cli("changes", "--source", "cne", json_out=True).doc
    assert {t["unit"] for t in doc["changed"]} == {"2.3", "1.2", "3.5"}


def test_failures_back_off_exponentially_then_recover(db: str, tmp_path: Path, serve: Callable) -> None:
    v1, _, _ = csv_bytes(tmp_path)
    url, feed = serve([500, 404, 500, v1])
    waits: list[float] = []
    with open_store(db) as store:
        w = Watch(store, url, tmp_path / "keep", "cne", "official", MAPPING)
        lines = run(w, every=1.0, times=4, report=lambda line: None, sleep=waits.append, max_backoff=5)
        assert [ln["status"] for ln in lines] == ["error", "error", "error", "version"]
        assert waits == [2.0, 4.0, 5.0]  # every * 2**failures, capped
        assert len(store.versions("cne")) == 1


def test_a_stopped_server_and_a_missing_path_are_fetch_errors(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="ConnectError"):
        fetch("http://127.0.0.1:9/feed.csv", timeout=2)
    with pytest.raises(FetchError, match="No such file"):
        fetch(str(tmp_path / "absent.csv"))


def test_watch_a_local_path_and_reject_a_malformed_publication(cli: Callable[..., object], db: str,
                                                               tmp_path: Path) -> None:
    v1, v2, _ = csv_bytes(tmp_path)
    path = tmp_path / "feed.csv"
    path.write_bytes(v1)
    assert cli("watch", path, *FLAGS, "--every", "0.01", "--times", "1").exit_code == 0
    path.write_bytes(v2.replace(b"\n1,2,", b"\n1,2,x", 1))  # a malformed number: kept, not a version
    res = cli("watch", path, *FLAGS, "--every", "0.01", "--times", "2", json_out=True)
    assert [f["status"] for f in res.doc["fetches"]] == ["rejected", "unchanged"]
    assert Path(res.doc["fetches"][0]["kept"]).read_bytes() == path.read_bytes()
    with open_store(db, read_only=True) as store:
        assert len(store.versions("cne")) == 1


def test_ctrl_c_stops_cleanly_after_the_fetch_in_hand(db: str, tmp_path: Path, serve: Callable) -> None:
    v1, v2, _ = csv_bytes(tmp_path)
    url, feed = serve([v1, v2])
    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    with open_store(db) as store:
        lines = run(Watch(store, url, tmp_path / "keep", "cne", "official", MAPPING), every=60, times=None,
                    report=lambda line: None, sleep=interrupt)
        assert [ln["status"] for ln in lines] == ["version"] and feed.served == 1
        assert len(store.versions("cne")) == 1
