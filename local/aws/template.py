"""Reading a CDK-synthesized CloudFormation template: intrinsic functions and resource order."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(ValueError):
    """The template uses something the local deployer cannot reproduce faithfully."""


@dataclass
class ResolvedResource:
    """What CloudFormation would know about a created resource: its Ref and its attributes."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Intrinsics:
    """Resolves Ref, GetAtt, Join, Sub, Select and Split against the resources created so far."""

    pseudo: Mapping[str, str]
    resources: dict[str, ResolvedResource]
    parameters: Mapping[str, str]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = self._functions().get(key)
            if function is not None:
                return function(argument)
        return {key: self.resolve(item) for key, item in value.items()}

    def _functions(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Join": lambda a: str(a[0]).join(str(x) for x in self.resolve(a[1])),
            "Fn::Sub": self._sub,
            "Fn::Select": lambda a: self.resolve(a[1])[int(self.resolve(a[0]))],
            "Fn::Split": lambda a: str(self.resolve(a[1])).split(a[0]),
        }

    def _ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name].ref
        raise TemplateError(f"Ref to {name}, which is not created yet or unknown")

    def _get_att(self, argument: Any) -> str:
        logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
        try:
            return self.resources[logical_id].attributes[attribute]
        except KeyError:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} is not known") from None

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {k: str(self.resolve(v)) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return values[name]
            if "." in name:
                return self._get_att(name)
            return self._ref(name)

        return _SUB_VARIABLE.sub(replace, text)


def dependencies(resource: Mapping[str, Any]) -> set[str]:
    """Logical ids a resource refers to (Ref, GetAtt, Sub, DependsOn)."""
    found: set[str] = set()
    depends_on = resource.get("DependsOn", [])
    found.update([depends_on] if isinstance(depends_on, str) else depends_on)
    _collect(resource.get("Properties", {}), found)
    return found


def _collect(value: Any, found: set[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect(item, found)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str) and not item.startswith("AWS::"):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else item.split(".")[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found.update(n.split(".")[0] for n in _SUB_VARIABLE.findall(text))
                _collect(item, found)
            else:
                _collect(item, found)


def creation_order(resources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Logical ids so that every resource comes after what it refers to."""
    ordered: list[str] = []
    state: dict[str, str] = {}

    def visit(logical_id: str) -> None:
        if state.get(logical_id) == "done":
            return
        if state.get(logical_id) == "visiting":
            raise TemplateError(f"circular reference through {logical_id}")
        state[logical_id] = "visiting"
        for dependency in sorted(dependencies(resources[logical_id])):
            if dependency in resources:
                visit(dependency)
        state[logical_id] = "done"
        ordered.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return ordered


def as_json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
