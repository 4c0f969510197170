"""docs/configuration.md, generated from the settings model.

Every environment variable the layer reads through `contentgen.config.Settings`: its name (the
field's alias), type, default, bounds and description (the field's docstring), and, where
`template.yaml` sets it from a parameter, which one. Variables read outside the settings (the SDKs'
and Powertools' own, the extension's, the local key fallbacks) are listed after it from
`OTHER_VARIABLES` below.

`python -m local.config_doc` (`make docs`) writes the page; `--check` exits 1 when the committed
page differs from what the code says, and a unit test does the same (like `openapi.json`).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import sys
import textwrap
import types
import typing
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from local.runtime import SHARED
from local.template import ROOT, load_template

if SHARED not in sys.path:
    sys.path.insert(0, SHARED)

from contentgen.config import Settings

PAGE = ROOT / "docs" / "configuration.md"

OTHER_VARIABLES: tuple[tuple[str, str], ...] = (
    (
        "OPENROUTER_API_KEY",
        "Outside AWS only: the OpenRouter key, read when `OPENROUTER_API_KEY_PARAM` is unset.",
    ),
    ("GOOGLE_API_KEY", "Outside AWS only: the Google key, read when `GOOGLE_API_KEY_PARAM` is unset."),
    (
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
        "The AWS Parameters and Secrets extension's port (`2773` when the template parameter "
        "`UseParametersSecretsExtension` is `true`): keys are read from its local endpoint with one "
        "stdlib HTTP GET. Empty: Powertools' SSM provider reads them (boto3).",
    ),
    (
        "SSM_PARAMETER_STORE_TTL, SSM_PARAMETER_STORE_TIMEOUT_MILLIS",
        "The extension's own: its cache is bypassed (`0`: a key is read once per container anyway, and "
        "the re-read after a provider's 401 must reach SSM); its SSM timeout (`3000`).",
    ),
    (
        "AWS_ENDPOINT_URL",
        "boto3's own endpoint override, for the local stack only (template parameter `AwsEndpointUrl`, "
        "empty in AWS).",
    ),
    (
        "POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL",
        "Powertools' own: `contentgen`, `contentgen`, and the template parameter `LogLevel` (`INFO`).",
    ),
    (
        "POWERTOOLS_LOGGER_SAMPLE_RATE",
        "Share of invocations logged at DEBUG (template parameter `DebugLogSampleRate`, 0.01).",
    ),
    (
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "Set by Lambda; `snap-start` (template parameter `EnableSnapStart=true`) registers the "
        "SnapStart hooks of the cold-start module.",
    ),
)


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        names = [_type_name(arg) for arg in typing.get_args(annotation) if arg is not type(None)]
        return " | ".join(names) + (" (optional)" if type(None) in typing.get_args(annotation) else "")
    return getattr(annotation, "__name__", str(annotation))


def _bounds(field: FieldInfo) -> str:
    parts: list[str] = []
    for item in field.metadata:
        if isinstance(item, annotated_types.Gt):
            parts.append(f"> {item.gt}")
        elif isinstance(item, annotated_types.Ge):
            parts.append(f">= {item.ge}")
        elif isinstance(item, annotated_types.Lt):
            parts.append(f"< {item.lt}")
        elif isinstance(item, annotated_types.Le):
            parts.append(f"<= {item.le}")
        elif isinstance(item, annotated_types.MinLen):
            parts.append(f"length >= {item.min_length}")
        elif isinstance(item, annotated_types.MaxLen):
            parts.append(f"length <= {item.max_length}")
    return ", ".join(parts)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    # A default computed by a factory (the model settings: the catalog's default chain) is shown
    # as the value it gives, never as pydantic's `PydanticUndefined` sentinel.
    computed = field.default_factory is not None
    value = field.get_default(call_default_factory=True, validated_data={})
    if computed and isinstance(value, str) and value:
        return f"`{value}` (model catalog default)"
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def template_values() -> dict[str, str]:
    """Variable name -> how `template.yaml` sets it on a function: a parameter, a resource or a value."""
    template = load_template()
    declared: dict[str, dict[str, Any]] = template.get("Parameters", {})
    environments = [template["Globals"]["Function"].get("Environment", {}).get("Variables", {})]
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            environments.append(resource["Properties"].get("Environment", {}).get("Variables", {}))
    found: dict[str, str] = {}
    for variables in environments:
        for name, value in variables.items():
            if isinstance(value, dict) and value.get("Ref") in declared:
                default = declared[value["Ref"]].get("Default")
                shown = "empty" if default in (None, "") else f"`{default}`"
                found.setdefault(name, f"parameter `{value['Ref']}` (default {shown})")
            elif isinstance(value, dict) and "Ref" in value:
                found.setdefault(name, f"resource `{value['Ref']}`")
            elif isinstance(value, dict) and "Fn::GetAtt" in value:
                found.setdefault(name, f"resource `{value['Fn::GetAtt'][0]}`")
            elif isinstance(value, dict):
                found.setdefault(name, "set (computed)")
            else:
                found.setdefault(name, f"`{value}`")
    return found


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def attribute_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """Each field's docstring (the string literal under it) in `model`'s class body and its bases',
    read from their source as pydantic's `use_attribute_docstrings` would (which the layer leaves
    off: it would parse `config.py` at every cold start)."""
    docstrings: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not issubclass(cls, BaseModel) or cls is BaseModel:
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
        assert isinstance(body, ast.ClassDef)
        for node, after in zip(body.body, body.body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docstrings[node.target.id] = inspect.cleandoc(after.value.value)
    return docstrings


def render(model: type[BaseModel] = Settings) -> str:
    """The whole page, from the settings model and `template.yaml`; a field without a docstring raises."""
    set_by = template_values()
    lines = [
        "# Configuration",
        "",
        "<!-- Generated by `python -m local.config_doc` (`make docs`) from contentgen's settings model;"
        " edit the field docstrings, not this page. A test fails when it drifts. -->",
        "",
        "Every environment variable the functions read, and what it does. Settings are validated once",
        "per container; a missing or malformed value answers 503 `configuration_error` naming the",
        "variable (the failure is not cached). Where `template.yaml` sets a variable from a parameter,",
        "change it with `sam deploy --parameter-overrides`; set any other on a function's `Environment`",
        "to change its code default. The local stack sets its own values ([local.md](local.md)).",
        "",
        "## Settings",
        "",
        "| variable | type | default | bounds | set by the template | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    docstrings = attribute_docstrings(model)
    for name, field in model.model_fields.items():
        description = field.description or docstrings.get(name)
        if not field.alias:
            raise ValueError(f"{model.__name__}.{name} has no alias (its environment variable)")
        if not description:
            raise ValueError(
                f"{model.__name__}.{name} ({field.alias}) has no docstring: describe it in config.py"
            )
        lines.append(
            f"| `{field.alias}` | {_type_name(field.annotation)} | {_default(field)} | {_bounds(field)} "
            f"| {set_by.get(field.alias, '')} | {_cell(description)} |"
        )
    lines += [
        "",
        "## Read outside the settings",
        "",
        "| variable | meaning |",
        "| --- | --- |",
    ]
    lines += [f"| `{'`, `'.join(n.split(', '))}` | {_cell(text)} |" for n, text in OTHER_VARIABLES]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Write docs/configuration.md, or with --check exit 1 when the committed page drifted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != page:
            print(f"{PAGE.relative_to(ROOT)} drifted from the settings: run `make docs`", file=sys.stderr)
            sys.exit(1)
        return
    PAGE.parent.mkdir(exist_ok=True)
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
