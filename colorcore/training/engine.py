"""A small event engine after ignite's `Engine`/`Events`: handlers attached to events, optionally filtered.

The Trainer (`colorcore.training.trainer`) runs the steps and fires these events; what happens around the
steps (logging, validation, checkpoints, the watchdog: `colorcore.training.handlers`) is a handler attached
to one of them. A filter decides whether a firing reaches a handler: `Events.EPOCH_COMPLETED(every=2)`,
or `Events.STEP_COMPLETED(when=schedule.due)` with any callable taking the event's count. A filter shared
by several handlers is asked once per firing, so they all see the same answer (a time-based filter may
then keep its own clock). Handlers run in the order they were attached. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable

EventFilter = Callable[[int], bool]  # the event's count (the step for STEP_COMPLETED, ...) -> run the handler
Handler = Callable[[], None]


class Events(Enum):
    """What the Trainer fires, in the order of a run."""

    STARTED = "started"  # set up, the run folder ready, before the first step
    STEP_COMPLETED = "step_completed"  # after every optimisation step (count: the run's step)
    EPOCH_COMPLETED = "epoch_completed"  # after the last step of an epoch (count: the epochs completed)
    VALIDATION_COMPLETED = "validation_completed"  # a held-out score is in `TrainState.validation`
    STOPPED = "stopped"  # a stop was requested; the loop ends here
    COMPLETED = "completed"  # every step is done

    def __call__(self, every: int | None = None, when: EventFilter | None = None) -> FilteredEvent:
        """This event for the handlers that want only some firings: every `every`-th count, or those `when`
        says yes to (exactly one of the two)."""
        if (every is None) == (when is None):
            raise ValueError("give either every or when")
        if every is not None:
            if every < 1:
                raise ValueError(f"every must be at least 1, not {every}")
            return FilteredEvent(self, EveryNth(every))
        assert when is not None
        return FilteredEvent(self, when)


@dataclass(frozen=True)
class EveryNth:
    """A filter: the firings whose count is a multiple of `n`."""

    n: int

    def __call__(self, count: int) -> bool:
        return count % self.n == 0


@dataclass(frozen=True)
class FilteredEvent:
    """An event with the filter that decides which of its firings a handler gets."""

    event: Events
    when: EventFilter


class Engine:
    """Keeps the handlers of each event and fires them."""

    def __init__(self) -> None:
        self.handlers: dict[Events, list[tuple[EventFilter | None, Handler]]] = {event: [] for event in Events}
        self.fired: dict[Events, int] = {event: 0 for event in Events}  # firings so far, this session

    def add_event_handler(self, event: Events | FilteredEvent, handler: Handler) -> None:
        """Call `handler()` when `event` fires (and its filter, if any, agrees)."""
        if isinstance(event, FilteredEvent):
            self.handlers[event.event].append((event.when, handler))
        else:
            self.handlers[event].append((None, handler))

    def fire(self, event: Events, count: int | None = None) -> None:
        """Run `event`'s handlers in order; `count` is what filters see (default: this event's firings so
        far, this one included)."""
        self.fired[event] += 1
        count = self.fired[event] if count is None else count
        answers: dict[EventFilter, bool] = {}
        for when, handler in self.handlers[event]:
            if when is not None:
                if when not in answers:
                    answers[when] = when(count)
                if not answers[when]:
                    continue
            handler()
