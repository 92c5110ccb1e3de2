"""What ``gs operators`` prints: every task and its operators, gs's and the plug-ins'."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from gs.operators.registry import get_task, plugin_failures, task_source, tasks


@dataclass(frozen=True)
class OperatorInfo:
    """One operator of a task: its name, class (``module:Class``) and the options it reads."""

    name: str
    cls: str
    parameters: tuple[str, ...]
    random: bool


@dataclass(frozen=True)
class TaskInfo:
    """One task as listed: where it comes from, its options with their defaults (None:
    required, or computed by the operator), its operators (default first)."""

    name: str
    source: str
    summary: str
    observation: str
    options: dict[str, Any]
    operators: tuple[OperatorInfo, ...]
    classical: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["operators"] = [asdict(o) for o in self.operators]
        return data


def describe_tasks() -> tuple[list[TaskInfo], list[dict[str, str]]]:
    """Every task installed, and the ``gs.operators`` plug-ins left out (name, kind,
    source, problem)."""
    listed = []
    for name in tasks():
        task = get_task(name)
        operators = tuple(
            OperatorInfo(op, f"{cls.__module__}:{cls.__qualname__}", tuple(cls.parameters),
                         bool(cls.random))
            for op, cls in task.operators.items())
        listed.append(TaskInfo(name, task_source(name), task.summary, task.observation,
                               task.defaults, operators, tuple(task.classical)))
    left_out = [{"name": f.name, "kind": f.kind, "source": f.origin, "problem": f.problem}
                for f in plugin_failures().values()]
    return listed, left_out


def operators_table(listed: list[TaskInfo], left_out: list[dict[str, str]]) -> str:
    """The tasks as a text table, one row per operator (the task's default first)."""
    rows = [("TASK", "OPERATOR", "SOURCE", "OPTIONS (DEFAULT)", "OBSERVATION", "SUMMARY")]
    for task in listed:
        options = ", ".join(k if v is None else f"{k}={v}" for k, v in task.options.items())
        for i, op in enumerate(task.operators):
            rows.append((task.name if i == 0 else "", op.name, task.source,
                         options if i == 0 else "", task.observation if i == 0 else "",
                         task.summary if i == 0 else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]
             for row in rows]
    lines += [f"left out: the {u['kind']} {u['name']!r} of {u['source']} {u['problem']}"
              for u in left_out]
    return "\n".join(line.rstrip() for line in lines)


def list_operators(as_json: bool = False) -> str:
    """The installed tasks and operators, as ``gs operators`` prints them."""
    listed, left_out = describe_tasks()
    if as_json:
        return json.dumps({"tasks": [t.to_json() for t in listed], "unavailable": left_out},
                          indent=2)
    return operators_table(listed, left_out)
