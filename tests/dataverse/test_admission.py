"""How many requests a client keeps in flight around service protection answers (no clock involved)."""

from __future__ import annotations

from dynamics_campaign_sync.dataverse.admission import Admission


def test_a_block_halves_the_requests_in_flight_once_and_answers_grow_them_back_to_the_cap():
    admission = Admission(12)
    admission.throttled(0.0)
    assert admission.limit == 6
    admission.throttled(60.0)  # another answer of a new block (the earlier one is over): halved again
    admission.throttled(60.0)  # raced into the same block: not halved again
    assert admission.limit == 3
    for _ in range(3):
        admission.answered()
    assert admission.limit == 4  # one more per round of answers
    for _ in range(100):
        admission.answered()
    assert admission.limit == 12  # never above the cap


def test_the_limit_never_drops_below_one():
    admission = Admission(1)
    admission.throttled(0.0)
    assert admission.limit == 1
    with admission.slot():
        pass
