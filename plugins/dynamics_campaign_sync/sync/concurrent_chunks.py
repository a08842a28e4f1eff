"""Chunks sent to Dynamics side by side, up to a cap, with their intents recorded by one thread.

The calling thread does all ledger work: it begins a chunk's intent (committed) before handing the chunk's
request to a sender thread, and completes the intent once the answer is back — so the write-ahead rule holds per
chunk exactly as when chunks went one by one, and the ledger sees a single writer. At most ``cap`` chunks are in
flight, so a crash leaves at most ``cap`` pending intents, each naming exactly the people that may have been sent;
the next attempt re-sends and completes them.

When a request fails for good (the retry policy gave up, or Dynamics refused the whole chunk), no further chunk
is started; the chunks already in flight are answered and recorded, then the first error is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

Chunk = TypeVar("Chunk")
Answer = TypeVar("Answer")


def send_chunks(
    chunks: Iterable[Chunk],
    *,
    begin: Callable[[Chunk], str],
    send: Callable[[Chunk], Answer],
    complete: Callable[[Chunk, str, Answer], None],
    cap: int,
) -> None:
    """For each chunk: ``begin`` (its intent id), ``send`` on a sender thread, then ``complete`` with the answer.

    ``begin`` and ``complete`` run on the calling thread; at most ``cap`` sends are in flight at once.
    """
    if cap < 1:
        raise ValueError(f"cap must be at least 1, got {cap}")
    pending = iter(chunks)
    in_flight: dict[Future[Answer], tuple[Chunk, str]] = {}
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=cap, thread_name_prefix="dataverse-chunk") as senders:
        while True:
            while failure is None and len(in_flight) < cap and (chunk := next(pending, None)) is not None:
                try:
                    intent_id = begin(chunk)
                except BaseException as error:  # noqa: BLE001 - recorded, raised once the in-flight chunks land
                    failure = error
                    break
                in_flight[senders.submit(send, chunk)] = (chunk, intent_id)
            if not in_flight:
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                chunk, intent_id = in_flight.pop(future)
                try:
                    complete(chunk, intent_id, future.result())
                except BaseException as error:  # noqa: BLE001 - its intent stays pending for the next attempt
                    failure = failure or error
    if failure is not None:
        raise failure
