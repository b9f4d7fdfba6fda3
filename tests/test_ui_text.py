"""The dashboard's pure renderers: overview, timeline, result, queue and status line."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from qjob_tui.model import Backend, BackendState, Job, JobError, JobStatus, QueueInfo, Step
from qjob_tui.results import Counts, JobResult, PubResult, RegisterResult
from qjob_tui.store.changes import SourceHealth
from qjob_tui.ui.backends.queue_pane import queue_text, sparkline
from qjob_tui.ui.detail.overview import overview_text
from qjob_tui.ui.detail.result_view import MAX_OUTCOMES, result_text
from qjob_tui.ui.detail.timeline import RUNNING_NOTE, duration, timeline_text
from qjob_tui.ui.status.status_line import status_text

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def job(**fields: object) -> Job:
    values: dict[str, object] = {
        "id": "d123",
        "source": "local",
        "status": JobStatus.DONE,
        "created": T0,
        "backend": "fake_lima",
        "program": "sampler",
    }
    values.update(fields)
    return Job(**values)  # type: ignore[arg-type]


def test_overview_shows_the_error_and_never_parses_markup() -> None:
    failed = job(
        status=JobStatus.ERROR,
        name="[bold]x[/] \x1b[31mred",
        error=JobError(1501, "bad [red]gate[/]", "fix the gate"),
    )
    text = overview_text(failed).plain
    assert "code 1501: bad [red]gate[/]" in text
    assert "Solution   fix the gate" in text
    assert "[bold]x[/]" in text and "\x1b" not in text
    assert "cancelling…" in overview_text(job(status=JobStatus.RUNNING), "cancelling…").plain


def test_timeline_phases_and_note() -> None:
    steps = (
        Step("created", T0),
        Step("queued", T0 + timedelta(seconds=1)),
        Step("running", T0 + timedelta(seconds=61)),
        Step("finished", T0 + timedelta(seconds=66)),
    )
    text = timeline_text(job(steps=steps), width=80).plain
    assert "queued" in text and "1 min 0 s" in text and "5.0 s" in text
    assert RUNNING_NOTE.split(",")[0] in text.replace("\n", " ")
    running = job(status=JobStatus.RUNNING, steps=steps[:3])
    assert "so far" in timeline_text(running, now=T0 + timedelta(seconds=70)).plain
    assert duration(0.25) == "250 ms" and duration(7200) == "2 h 0 min"


def test_timeline_of_a_cancelled_job_ends_with_a_cancelled_step() -> None:
    steps = (
        Step("created", T0),
        Step("queued", T0 + timedelta(seconds=1)),
        Step("running", T0 + timedelta(seconds=2)),
    )
    late = T0 + timedelta(seconds=600)
    end = Step("finished", T0 + timedelta(seconds=6))
    ended = job(status=JobStatus.CANCELLED, steps=(*steps, end))
    lines = timeline_text(ended, now=late).plain.split("Phases")[0].strip().splitlines()
    assert lines[-1].split()[0] == "cancelled" and "finished" not in lines[-1]
    # The service has not told when it ended yet: still a cancelled step, never "so far".
    unknown = timeline_text(job(status=JobStatus.CANCELLED, steps=steps), now=late).plain
    assert "cancelled  time not reported" in unknown and "so far" not in unknown
    failed = job(status=JobStatus.ERROR, steps=(*steps, end))
    assert "  failed " in timeline_text(failed).plain


def test_result_histogram_most_likely_first_and_capped() -> None:
    counts = Counts({format(i, "05b"): i + 1 for i in range(32)})
    register = RegisterResult("c", 5, counts)
    text = result_text(JobResult((PubResult((register,)),)), width=80).plain
    lines = [line for line in text.splitlines() if "%" in line]
    assert lines[0].strip().startswith("11111")
    assert len(lines) == MAX_OUTCOMES
    assert f"and {32 - MAX_OUTCOMES} less likely outcomes" in text


def test_queue_pane_sparkline_and_honest_estimates() -> None:
    assert sparkline([0, 4, 8], 10) == "▁▅█"
    assert sparkline([], 5) == ""
    backends = [Backend("fake_cairo", "local", BackendState.ONLINE, 3, 27)]
    history = {("local", "fake_cairo"): [1, 2, 3]}
    queued = job(status=JobStatus.QUEUED, backend="fake_cairo", queue=QueueInfo(position=2))
    text = queue_text(backends, history, {("local", "fake_cairo"): 1}, queued, False).plain
    assert "fake_cairo" in text and "online" in text and "position 2" in text
    assert "starts   not provided" in text
    ibm = job(source="ibm", status=JobStatus.QUEUED, backend="ibm_torino")
    text = queue_text(backends, history, {}, ibm, True).plain
    assert "position not provided by IBM" in text
    assert "local/fake_cairo" in text


def test_queue_pane_shows_a_clusters_status_once() -> None:
    note = "Dask tcp://10.0.0.5:8786: 2 workers, 1 busy, cpu 40%, memory 1.0 GiB"
    backends = [
        Backend(name, "local", BackendState.ONLINE, 0, 5, message=note)
        for name in ("fake_lima", "fake_perth")
    ]
    text = queue_text(backends, {}, {}, None, False).plain
    assert text.count(note) == 1
    assert text.splitlines()[-1] == note
    # One backend's own message (maintenance) is not a note about the source.
    backends.append(Backend("fake_cairo", "local", BackendState.PAUSED, 0, 27, message="down"))
    assert note not in queue_text(backends, {}, {}, None, False).plain


def test_status_line_health_and_counts() -> None:
    now = T0
    healthy = SourceHealth("local", last_success=now)
    broken = SourceHealth(
        "ibm",
        last_success=now - timedelta(seconds=30),
        last_error="ibm: unreachable (ConnectError) after 5 tries",
        failures=2,
        next_poll=now + timedelta(seconds=8),
    )
    counts = Counter({JobStatus.DONE: 5, JobStatus.QUEUED: 2})
    text = status_text([healthy, broken], counts, False, 2.0, now=now).plain
    assert "local ok" in text
    said = "ibm unreachable (ConnectError) after 5 tries · stale since 30 s ago · retrying in 8 s"
    assert said in text
    assert text.startswith("queued 2 running 0 done 5")  # never pushed off by an error
    assert "every 2 s" in text
    narrow = status_text([broken], counts, False, 2.0, now=now, compact=True).plain
    assert narrow.startswith("…2 ▶0 ✔5 ✖0 ⊘0 │ every 2 s │ ibm unreachable")
    assert "paused" in status_text([healthy], counts, True, 2.0, now=now).plain


def test_help_lists_each_action_once_with_all_its_keys_as_mapped() -> None:
    from qjob_tui.ui.actions import BY_ID
    from qjob_tui.ui.dialogs.help import help_rows

    actions = [BY_ID[i] for i in ("job_list.cursor_down", "app.cancel", "app.tags", "app.pause")]
    mapped = {"app.cancel": "x,delete"}
    rows = help_rows(
        actions, keys_of=lambda a: mapped.get(a.id, a.keys), key_display=lambda b: b.key
    )
    assert rows == [
        ("", "Dashboard"),  # the keys that work everywhere first, under their heading
        ("x delete", BY_ID["app.cancel"].help),
        ("t", "edit the tags of the selected job"),
        ("p", "pause or resume polling"),
        ("", "Job list"),
        ("j down", "Down"),
    ]


def test_random_bits_say_where_each_input_came_from() -> None:
    """318,944 bits from a job of 20,000 raw bits: the rest of the input was generated by the
    service, and the tab says so, rather than that the bits came from the raw bits alone."""
    import numpy as np

    from qjob_tui.results import ExtractorResult
    from qjob_tui.ui.detail.random_bits import random_bits_text

    params = {
        "ext1_input_num_bits": 20_000,
        "ext1_output_num_bits": 1_000,
        "ext2_seed_num_bits": 1_000,
        "ext2_wsr_multiplier": 320,
        "raw_job": "d5raw",
        "raw_bits_available": 20_000,
        "raw_bits_used": 20_000,
        "wsr_seed": 7,
        "inputs": {
            "ext1_raw": "raw_job",
            "ext1_wsr": "generated",
            "ext2_seed": "ext1_output",
            "ext2_wsr": "generated",
        },
    }
    bits = np.zeros(318_944, dtype=np.uint8)
    result = ExtractorResult(bits=bits, num_bits=318_944, method="both", params=params, quality=())
    text = random_bits_text(result, width=80).plain
    assert "318,944 random bits" in text
    assert "n=20,000  m=1,000  a=1,000  c=320" in text
    assert "raw bits from job d5raw: 20,000 used of 20,000" in text
    assert "ext1 weak random seed: generated by the service" in text
    assert "ext2 seed: the first bits of ext1's output" in text
    assert "generated inputs (numpy seed 7): in the Raw tab (v)" in text
