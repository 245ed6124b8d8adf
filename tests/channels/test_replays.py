"""The set of provider message ids seen: each id is new once, within its time to live."""

from __future__ import annotations

from bot.channels.replays import SeenIds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_id_is_new_only_the_first_time() -> None:
    seen = SeenIds(ttl=60, clock=Clock())
    assert seen.first_time("SM1") is True
    assert seen.first_time("SM1") is False
    assert seen.first_time("SM1") is False
    assert seen.first_time("SM2") is True


def test_an_id_is_forgotten_after_its_time_to_live() -> None:
    clock = Clock()
    seen = SeenIds(ttl=60, clock=clock)
    assert seen.first_time("SM1")
    clock.now += 59
    assert not seen.first_time("SM1")  # still remembered; not refreshed by being seen again
    clock.now += 1
    assert seen.first_time("SM1")
    assert len(seen) == 1


def test_the_set_is_bounded_and_forgets_the_oldest_first() -> None:
    seen = SeenIds(ttl=3600, max_ids=3, clock=Clock())
    for message_id in ["a", "b", "c", "d"]:
        assert seen.first_time(message_id)
    assert len(seen) == 3
    assert seen.first_time("a")  # the oldest was forgotten to make room
    assert not seen.first_time("d")
