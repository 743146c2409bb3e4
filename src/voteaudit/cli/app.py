"""The Typer application every command module registers on (``voteaudit.cli`` imports them all)."""

from __future__ import annotations

from typing import Any

import typer
import typer.core


def _metavar(param: Any) -> str:
    """A placeholder for people (``--source SOURCE``, ``FILE``, ``--kind official|...``), never a Python type."""
    desc = getattr(param, "type_descriptor", None)  # Typer's own parameter core keeps the annotation here
    kind: Any = None
    if desc is not None:
        if desc.is_choice:
            return "|".join(str(c) for c in desc.choices or ())
        kind = desc.annotation
        kind = (getattr(kind, "__args__", None) or (kind,))[0] if desc.is_list else kind
    else:  # Typer on Click: Click parameter types
        choices = getattr(param.type, "choices", None)
        if choices:
            return "|".join(str(c) for c in choices)
        kind = {"integer": int, "float": float}.get(getattr(param.type, "name", ""))
    if kind is int:
        return "N"
    if kind is float:
        return "NUMBER"
    name = (param.name or "value").upper()
    is_option = getattr(param, "param_type_name", "") == "option"
    return f"{name}..." if param.nargs != 1 and not is_option else name


def _label(cmd: Any) -> Any:
    for param in cmd.params:
        if param.metavar is None and not getattr(param, "is_flag", False):
            param.metavar = _metavar(param)
    for sub in getattr(cmd, "commands", {}).values():
        _label(sub)
    return cmd


class LabelledGroup(typer.core.TyperGroup):
    """The top-level group: before running, gives every parameter of the tree a placeholder for people."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        _label(self)
        return super().main(*args, **kwargs)


app = typer.Typer(
    help="Check announced election results against precinct-level evidence.\n\n"
         "Typical session: `voteaudit ingest` each source's table-level results, `voteaudit announce` the "
         "authority's bulletins, then `voteaudit compare`, `estimate`, `forensics` and `report`. "
         "`voteaudit demo --out DIR` runs it all on Venezuela 2024.",
    no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False, cls=LabelledGroup,
)


def main(*args: Any, **kwargs: Any) -> Any:
    """The console entry point."""
    return app(*args, **kwargs)
