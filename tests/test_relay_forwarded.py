"""The relay's upstream reads: viewers asking at once share one read, a hang-up spares it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from qjob_tui.model import Job, JobStatus
from qjob_tui.relay.forwarded import Forwarded, Kept
from qjob_tui.store.changes import ChangeSet

KEY = ("qjob-tui instance-a", "j1")


class Sources:
    """The two things ``Forwarded`` asks of the store: who answers at a source, and news."""

    def __init__(self) -> None:
        self.identities = {"lab": "qjob-tui instance-a"}
        self.subscriber: Callable[[ChangeSet], None] | None = None

    def identity(self, source: str) -> str | None:
        return self.identities.get(source)

    def subscribe(self, subscriber: Callable[[ChangeSet], None]) -> None:
        self.subscriber = subscriber


def forwarded_for(sources: Sources | None = None) -> Forwarded:
    return Forwarded(sources or Sources())  # type: ignore[arg-type]


class SlowRead:
    """An upstream read that answers only when told to, counting how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0
        self.go = asyncio.Event()

    async def __call__(self) -> str:
        self.calls += 1
        await self.go.wait()
        return "the log"


async def test_viewers_asking_at_once_share_one_read() -> None:
    forwarded, kept, read = forwarded_for(), Kept(), SlowRead()  # type: ignore[arg-type]
    askers = [asyncio.create_task(forwarded._once("log", kept, KEY, read)) for _ in range(5)]
    await asyncio.sleep(0)
    read.go.set()
    assert await asyncio.gather(*askers) == ["the log"] * 5
    assert read.calls == 1
    assert await forwarded._once("log", kept, KEY, read) == "the log"  # kept: no new read
    assert read.calls == 1


async def test_an_answer_older_than_its_age_is_read_again() -> None:
    forwarded, kept, read = forwarded_for(), Kept(), SlowRead()  # type: ignore[arg-type]
    read.go.set()
    await forwarded._once("log", kept, KEY, read, max_age=0.0)
    await forwarded._once("log", kept, KEY, read, max_age=0.0)
    assert read.calls == 2


async def test_a_viewer_who_hangs_up_does_not_cancel_the_others_answer() -> None:
    forwarded, kept, read = forwarded_for(), Kept(), SlowRead()  # type: ignore[arg-type]
    first = asyncio.create_task(forwarded._once("log", kept, KEY, read))
    second = asyncio.create_task(forwarded._once("log", kept, KEY, read))
    await asyncio.sleep(0)
    first.cancel()  # its connection closed
    read.go.set()
    assert await second == "the log"
    assert read.calls == 1


async def test_a_failed_read_fails_its_askers_and_is_not_kept() -> None:
    forwarded, kept = forwarded_for(), Kept()  # type: ignore[arg-type]
    calls = 0

    async def failing() -> str:
        nonlocal calls
        calls += 1
        raise ConnectionError("upstream down")

    for _ in range(2):
        try:
            await forwarded._once("log", kept, KEY, failing)
        except ConnectionError:
            pass
        else:
            raise AssertionError("the failure was swallowed")
    assert calls == 2  # nothing kept: the next asker reads again


class Upstream:
    """A client whose every read says which server answered it."""

    def __init__(self, server: str) -> None:
        self.server = server

    async def logs(self, job_id: str) -> str:
        return f"log of {job_id} from {self.server}"


async def test_what_is_kept_belongs_to_the_server_that_answered() -> None:
    sources = Sources()
    forwarded = forwarded_for(sources)
    upstream = Upstream("a")
    forwarded.store.client = lambda source: upstream  # type: ignore[method-assign]
    job = Job(id="j1", source="lab", status=JobStatus.DONE, created=datetime.now(UTC))
    assert await forwarded.log(job) == "log of j1 from a"
    # Another server answers at the same address, under the same nickname, with the same id.
    upstream.server = "b"
    sources.identities["lab"] = "qjob-tui instance-b"
    assert sources.subscriber is not None
    sources.subscriber(ChangeSet(switched=("lab",)))
    assert await forwarded.log(job) == "log of j1 from b"
    # Even unannounced, a new identity never gets the old server's answer.
    upstream.server = "c"
    sources.identities["lab"] = "qjob-tui instance-c"
    assert await forwarded.log(job) == "log of j1 from c"


class Subscribable:
    """What ``RelayStreams`` asks of the store: news (its unsubscribe is a no-op here)."""

    def __init__(self) -> None:
        self.subscriber: Callable[[ChangeSet], None] | None = None

    def subscribe(self, subscriber: Callable[[ChangeSet], None]) -> Callable[[], None]:
        self.subscriber = subscriber
        return lambda: None


def test_the_streams_forget_what_they_sent_of_a_server_that_left() -> None:
    from qjob_tui.relay.app import RelayStreams

    store = Subscribable()
    streams = RelayStreams(store)  # type: ignore[arg-type]
    assert store.subscriber is not None
    old = Job(id="j1", source="lab", status=JobStatus.DONE, created=datetime.now(UTC))
    other = Job(id="j2", source="home", status=JobStatus.DONE, created=datetime.now(UTC))
    store.subscriber(ChangeSet(added=(old, other)))
    assert set(streams._sent) == {("lab", "j1"), ("home", "j2")}
    store.subscriber(ChangeSet(switched=("lab",)))
    # A job j1 of the new server is news to the stream's listeners, not a repeat of the old one.
    assert set(streams._sent) == {("home", "j2")}
