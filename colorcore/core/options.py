"""Declared options: settings written as dataclass fields whose metadata holds their help text, form
label and limits, so one declaration gives the `colorcore train` flag, the Training tab's control and
the saved value (pix2pix's `modify_commandline_options`, with a dataclass instead of argparse).

    @dataclass(frozen=True)
    class ToyOptions(ModelOptions):
        smoothness: float = option(0.25, "weight of the smoothness term", label="Smoothness", low=0.0, high=10.0)

Imports neither torch nor Qt.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass
from typing import Any, Callable

OPTION_KEY = "colorcore.option"  # the field metadata key holding an option's description

Check = Callable[[Any], str]  # a given value -> what is wrong with it, "" when nothing
OPTION_REFERENCE = re.compile(r"\{option:([a-z0-9_]+)\}")  # another option named in a help text


@dataclass(frozen=True)
class OptionSpec:
    """One declared option: what the command line and the Training tab need to offer it.

    `default` None means the model's preset fills it in (`colorcore.models.base.HYPERPARAMETERS`).
    `help` names another option as `{option:NAME}` (e.g. `{option:finetune_resnet}`); each front end
    words it its own way (`help_in`: the command line with its flag, the Training tab with its label).
    `low`/`high`/`step`/`decimals` shape the Training tab's control (the command line takes any value
    of the type). `choices` are the values offered; with `other_values`, other text is allowed too
    (e.g. a file). `check` finds what is wrong with a given value ("" when nothing): the command line
    and the Training tab both ask it.
    """

    name: str
    kind: type  # bool, int, float or str
    default: Any
    help: str
    label: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    decimals: int | None = None
    choices: tuple[str, ...] = ()
    other_values: bool = False
    check: Check | None = None

    @property
    def flag(self) -> str:
        """The command-line flag: `lambda_sal` -> `--lambda-sal`."""
        return "--" + self.name.replace("_", "-")

    def help_in(self, words: Callable[[str], str]) -> str:
        """The help text with each `{option:NAME}` replaced by `words(NAME)`."""
        return OPTION_REFERENCE.sub(lambda match: words(match.group(1)), self.help)

    def problem(self, value: Any) -> str:
        """What is wrong with a given (not None) value, "" when nothing."""
        return self.check(value) if self.check is not None else ""


def option(default: Any, help: str, *, label: str, low: float | None = None, high: float | None = None,
           step: float | None = None, decimals: int | None = None, choices: tuple[str, ...] = (),
           other_values: bool = False, check: Check | None = None) -> Any:
    """A dataclass field declaring an option (the arguments are `OptionSpec`'s)."""
    description = {"help": help, "label": label, "low": low, "high": high, "step": step, "decimals": decimals,
                   "choices": tuple(choices), "other_values": other_values, "check": check}
    return dataclasses.field(default=default, metadata={OPTION_KEY: description})


def option_specs(cls: type) -> tuple[OptionSpec, ...]:
    """The options a dataclass declares, in field order (fields declared without `option` are left out)."""
    hints = typing.get_type_hints(cls)
    return tuple(
        OptionSpec(name=f.name, kind=_value_type(hints[f.name]), default=f.default, **f.metadata[OPTION_KEY])
        for f in dataclasses.fields(cls) if OPTION_KEY in f.metadata
    )


def field_default(cls: type, name: str) -> Any:
    """The default value of a dataclass field, so that callers offering it do not restate it."""
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


def _value_type(hint: Any) -> type:
    """`float | None` -> float; `int` -> int."""
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return args[0] if args else hint
