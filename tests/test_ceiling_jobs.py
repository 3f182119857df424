"""The bulk jobs under a server-enforced rate limit, with default client settings: never a 429, never
more than the limit in one server window, nothing lost or duplicated (checked against the server's
store and the jobs' outputs). Small jobs on a scaled window (10 requests / 0.5 s); how close they come
to the ceiling is measured in ``bench/ceiling_jobs.py``, not asserted here."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.ceiling_jobs import JobResult, JobSize, ceiling_ratio, run_job

LIMIT, WINDOW = 10, 0.5
# Each job takes more requests than one window allows, so the throttle has to hold some back:
# 1,500 ids (15 requests of 100), 12,000 points (12 batches of 1,000), 10 twins × 1,440 points (15 pages).
SMALL = JobSize(twin_ids=1_500, unknown=2, points=12_000, export_twins=10, points_per_day=1440)
MIN_REQUESTS = {"get_twins": 15, "ingest": 12, "export": 15}


def check(result: JobResult) -> None:
    assert result.requests >= MIN_REQUESTS[result.job], result  # the job really ran past one window
    assert result.status_429 == 0, result
    assert result.max_per_window <= LIMIT, result
    assert (result.lost, result.duplicated) == (0, 0), result
    assert result.delivered == result.expected, result


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("job", ["get_twins", "ingest", "export"])
def test_a_bulk_job_stays_under_the_limit_and_accounts_for_every_item(job: str, mode: str, tmp_path: Path) -> None:
    check(run_job(job, size=SMALL, mode=mode, limit=LIMIT, window=WINDOW, workdir=tmp_path, spawn=False))


@pytest.mark.parametrize("job", ["get_twins", "ingest", "export"])
def test_three_processes_sharing_a_sqlite_throttle_stay_under_the_limit_together(job: str, tmp_path: Path) -> None:
    backend = f"sqlite:///{tmp_path}/throttle.db"
    result = run_job(job, size=SMALL, processes=3, backend=backend, limit=LIMIT, window=WINDOW, workdir=tmp_path)
    check(result)
    assert result.processes == 3


def test_the_ceiling_ratio_scores_a_client_taking_every_free_slot_as_one() -> None:
    # 72 requests at 20 / 5 s: rounds at 0, 5, 10 and 15 s, the last one 12 requests.
    assert ceiling_ratio(72, 15.0, 20, 5.0) == pytest.approx(1.0)
    assert ceiling_ratio(40, 5.0, 20, 5.0) == pytest.approx(1.0)
    assert ceiling_ratio(40, 10.0, 20, 5.0) == pytest.approx(2 / 3)  # a whole window lost
