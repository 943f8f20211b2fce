"""Reading the API's own OpenAPI document: which operation a request is, and the JSON Schema of
each of its answers ($refs into the document's components resolved)."""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator


def template_for(document: dict[str, Any], method: str, path: str) -> str | None:
    """The document's path template ("/investors/{investor_id}") a request path is, if any."""
    for template, operations in document["paths"].items():
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
        if method.lower() in operations and re.fullmatch(pattern, path):
            return str(template)
    return None


def answer_schema(document: dict[str, Any], template: str, method: str, status: int) -> Any:
    """A validator for the JSON body of one documented answer; None if it is not documented."""
    answers = document["paths"][template][method.lower()]["responses"]
    answer = answers.get(str(status)) or answers.get(status)
    if answer is None:
        return None
    schema = answer["content"]["application/json"]["schema"]
    # The answer's schema at the root of a document holding the components: its
    # "#/components/schemas/..." references resolve as they do in the API's document.
    return Draft202012Validator({**schema, "components": document["components"]})
