"""Progress: the pure model (a fake clock), the one-line description, and the terminal renderer
(silent unless attached to a terminal); wired to the bulk helpers over real HTTP."""

from __future__ import annotations

import io

from tests.dual import bulk_get_twins
from willow_ext import WillowClient
from willow_ext._progress import ProgressModel, TerminalProgress, describe
from willow_ext.testing import LocalWillow


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_and_eta_come_from_the_run_so_far() -> None:
    clock = FakeClock()
    model = ProgressModel("export", "points", total=10_000, clock=clock)
    assert model.snapshot().rate is None
    assert model.snapshot().eta is None
    clock.now += 4
    snapshot = model.update(2_000)
    assert snapshot.rate == 500.0
    assert snapshot.eta == 16.0
    assert snapshot.fraction == 0.2
    assert describe(snapshot) == "export  2,000 / 10,000 points (20%) · 500 points/s · 0:16 left"
    # An estimated total can be passed: the line stays sensible.
    clock.now += 20
    over = model.update(12_000, failed=3)
    assert over.eta == 0.0
    assert over.fraction == 1.0
    assert describe(over).endswith("0:00 left · 3 failed")


def test_without_a_total_it_shows_elapsed_time() -> None:
    clock = FakeClock()
    model = ProgressModel("ingest", "points", clock=clock)
    clock.now += 3725
    assert describe(model.update(7)) == "ingest  7 points · 0 points/s · 1:02:05 elapsed"


def test_the_renderer_is_silent_off_a_terminal_and_redraws_one_line_on_one() -> None:
    quiet = io.StringIO()
    with TerminalProgress("export", "points", 100, stream=quiet) as bar:
        bar.update(50)
    assert quiet.getvalue() == ""  # StringIO is not a terminal

    clock = FakeClock()
    shown = io.StringIO()
    with TerminalProgress("export", "points", 100, stream=shown, enabled=True, interval=1.0, clock=clock) as bar:
        bar.update(10)
        bar.update(20)  # within the interval: not redrawn
        clock.now += 2
        bar.total_callback()(60, 120)
    text = shown.getvalue()
    assert text.count("\r") == 3  # two updates drawn, and the final line
    assert "60 / 120 points" in text
    assert text.endswith("\n")


def test_bulk_twin_fetch_reports_progress_with_its_total(willow: LocalWillow, client: WillowClient) -> None:
    ids = [twin for twin in willow.store.twins][:30]
    stream = io.StringIO()
    bar = TerminalProgress("twins", "ids", len(ids), stream=stream, enabled=True, interval=0)
    with bar:
        bulk_get_twins(client, ids, chunk_size=7, progress=bar.ingest_callback())
    assert f"{len(ids)} / {len(ids)} ids (100%)" in stream.getvalue()
