"""Structured advice: which setting to change to get past a failure, as data.

The engine attaches `Advice` to its errors (an `advice` attribute, read with `advice_of`) and to its
error events; each front end words it with its own `AdviceWords` table (the command line with its
flags, the GUI with its controls' labels), so no front end rewrites the engine's text. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

# what to do with an option
LOWER = "lower"  # make its value smaller
SET = "set"  # give it `Advice.value`
ON = "on"  # turn a yes/no option on
OFF = "off"  # turn a yes/no option off
OTHER = "other"  # choose another one (another folder, another device)
REDO = "redo"  # make what it names again (prepare the dataset again)
GIVE = "give"  # give it a value (it has none)
ACTIONS = (LOWER, SET, ON, OFF, OTHER, REDO, GIVE)


@dataclass(frozen=True)
class Advice:
    """One way past a failure: do `action` to the setting `option` (the engine's name of it, such as a
    `TrainConfig` field: "batch_size", "resume", "run_dir"); `value` is what SET gives it."""

    option: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown advice action {self.action!r}; one of {', '.join(ACTIONS)}")


class AdvisedError(Exception):
    """An error that says which settings to change (`advice`, tried in order) besides its message."""

    def __init__(self, message: str, advice: Sequence[Advice] = ()) -> None:
        super().__init__(message)
        self.advice = tuple(advice)


def advice_of(exc: BaseException | None) -> tuple[Advice, ...]:
    """The advice an exception carries (its `advice` attribute), () when none."""
    return tuple(getattr(exc, "advice", ()) or ())


@dataclass(frozen=True)
class AdviceWords:
    """How one front end words advice. `options`: an option -> its words (a flag, a control's label);
    `actions`: an action -> a template using {option} and {value}; `phrases`: (option, action, value) or
    (option, action) -> the whole phrase where the template does not fit ("" leaves that advice out: the
    front end has no such control or value); `values`: a SET value -> its words."""

    options: Mapping[str, str]
    actions: Mapping[str, str]
    phrases: Mapping[tuple[str, ...], str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)

    def phrase(self, advice: Advice) -> str:
        """One piece of advice in these words ("" when this front end has no way to follow it)."""
        key = (advice.option, advice.action)
        template = self.phrases.get((*key, advice.value), self.phrases.get(key, self.actions[advice.action]))
        option = self.options.get(advice.option, advice.option.replace("_", " "))
        return template.format(option=option, value=self.values.get(advice.value, advice.value))

    def with_phrases(self, phrases: Mapping[tuple[str, ...], str]) -> AdviceWords:
        """These words with some phrases replaced or added (a view with other controls than the rest)."""
        return replace(self, phrases={**self.phrases, **phrases})

    def text(self, advice: Sequence[Advice], suggestion: str = "") -> str:
        """The suggestion and the advice as alternatives, e.g. "free some space, or choose another Run
        folder" ("" when there is neither)."""
        parts = [suggestion] + [self.phrase(item) for item in advice]
        unique = list(dict.fromkeys(part for part in parts if part))
        return ", or ".join(unique)
