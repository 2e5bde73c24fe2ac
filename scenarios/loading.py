"""Reading scenarios from TOML, applying overrides, and explaining bad input.

Every way of making a scenario (a shipped name, a TOML file, `--set KEY=VALUE`,
keyword arguments to the model) goes through `build_scenario`, so they are all
validated by the same schema and fail with the same kind of message.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from scenarios.schema import Scenario, Section


class ScenarioError(ValueError):
    """Bad scenario input; the message names file, key, value and what is allowed."""


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped in this package, sorted."""
    folder = resources.files("scenarios")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def scenario_path(name_or_path: str | Path) -> Path:
    """Resolve a shipped scenario name (`baseline`) or a file path to a path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return path
    shipped = resources.files("scenarios") / f"{name_or_path}.toml"
    if shipped.is_file():
        return Path(str(shipped))
    names = shipped_scenarios()
    hint = did_you_mean(str(name_or_path), names)
    raise ScenarioError(
        f"{name_or_path}: no such scenario file or shipped scenario; "
        f"shipped: {', '.join(names)}{hint}"
    )


def load_scenario(
    source: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    overrides_origin: str | None = None,
) -> Scenario:
    """Load a scenario by shipped name or path, apply overrides and validate it.

    Args:
        source: A shipped scenario name, a path to a TOML file, or None for defaults.
        overrides: Keys (dotted paths or unique field names) and values to set.
        overrides_origin: What the overrides are called in errors (e.g. "--set");
            default: the source followed by ", override".

    Raises:
        ScenarioError: If the file is missing, unreadable, not TOML, or invalid.
    """
    if source is None:
        return build_scenario(
            {}, overrides, origin="defaults", overrides_origin=overrides_origin
        )
    path = scenario_path(source)
    return build_scenario(
        read_toml(path),
        overrides,
        origin=str(path),
        source=path,
        overrides_origin=overrides_origin,
    )


def build_scenario(
    data: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    origin: str = "scenario",
    *,
    source: Path | None = None,
    overrides_origin: str | None = None,
) -> Scenario:
    """Validate raw scenario data after overrides; `origin` names it in errors.

    Args:
        data: The scenario's keys, as read from TOML.
        overrides: Keys (dotted paths or unique field names) and values to set.
        origin: What `data` is called in errors (a file, "defaults").
        source: The file `data` was read from: a relative `extends` is found
            beside it.
        overrides_origin: What the overrides are called in errors; errors about
            an overridden key name it rather than `origin`.
    """
    chain = (Path(source).resolve(),) if source is not None else ()
    folder = Path(source).parent if source is not None else Path()
    merged = _resolve_extends(dict(data), origin, folder, chain)
    where = overrides_origin or f"{origin}, override"
    overridden = []
    for key, value in (overrides or {}).items():
        path = resolve_key(key, where)
        _set_path(merged, path, value, where)
        overridden.append(path)
    try:
        return Scenario.model_validate(merged)
    except ValidationError as error:
        raise ScenarioError(
            explain(error, origin, overridden=overridden, overrides_origin=where)
        ) from None


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split a `KEY=VALUE` override; the value is read as TOML, else as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ScenarioError(
            f"--set {text!r}: expected KEY=VALUE, e.g. province.towns=10"
        )
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.strip(), value


def leaf_paths() -> dict[str, str]:
    """Map each unique field name of the schema to its dotted path."""
    paths: dict[str, str] = {}
    for path, _field in _walk_fields(Scenario):
        leaf = path.rsplit(".", 1)[-1]
        if leaf in paths:
            raise RuntimeError(f"field name {leaf!r} is not unique in the schema")
        paths[leaf] = path
    return paths


def resolve_key(key: str, origin: str = "scenario") -> str:
    """Turn a dotted path or unique field name into a dotted path, or explain."""
    known = dict(_walk_fields(Scenario))
    if key in known:
        return key
    head = key.split(".", 1)[0]
    if head in Scenario.model_fields and "." in key:
        section = key.rsplit(".", 1)[0]
        if _section_type(section) is not None or _dict_field(section):
            return key  # a key inside a dict field; validated later
    leaves = leaf_paths()
    if key in leaves:
        return leaves[key]
    hint = did_you_mean(key, [*known, *leaves])
    raise ScenarioError(f"{origin}: key {key!r}: unknown key{hint}")


def explain(
    error: ValidationError,
    origin: str,
    root: type[BaseModel] = Scenario,
    *,
    overridden: list[str] | None = None,
    overrides_origin: str = "override",
) -> str:
    """One readable line per problem: file, key, value and what is allowed.

    Args:
        error: A pydantic error from validating data against `root`.
        origin: What was read (a file, an override), named first on every line.
        root: The schema's root model: the scenario, or an experiment file's.
        overridden: Dotted keys set by overrides: their errors name
            `overrides_origin` instead of `origin`.
        overrides_origin: What the overrides are called (e.g. "--set").
    """
    lines = []
    for item in error.errors():
        where = _origin_of(item["loc"], origin, overridden or [], overrides_origin)
        lines.append(_explain_one(item, where, root))
    return "\n".join(dict.fromkeys(lines))


def _origin_of(
    loc: tuple[Any, ...], origin: str, overridden: list[str], overrides_origin: str
) -> str:
    """Who gave the value at `loc`: an override of it, or the file."""
    if not overridden:
        return origin
    key = ".".join(str(part) for part in loc)
    if not key:  # a rule across keys: the file and the overrides together
        return f"{origin} with {overrides_origin}"
    for path in overridden:
        if key == path or key.startswith(f"{path}.") or path.startswith(f"{key}."):
            return overrides_origin
    return origin


def _explain_one(item: Any, origin: str, root: type[BaseModel]) -> str:
    loc = [str(part) for part in item["loc"]]
    key = ".".join(loc)
    if item["type"] == "extra_forbidden":
        parent = loc[:-1]
        allowed = _allowed_keys(root, parent)
        return (
            f"{origin}: key {key!r}: unknown key{did_you_mean(loc[-1], allowed)}; "
            f"allowed in {'.'.join(parent) or 'the top level'}: {', '.join(allowed)}"
        )
    message = item["msg"].removeprefix("Value error, ") + _choice_hint(item)
    if not loc:  # a rule across sections names its keys itself
        return f"{origin}: {message}"
    value = item.get("input")
    whole_section = _walk(root, loc)[0] is not None
    hidden = item["type"] == "missing" or (whole_section and isinstance(value, dict))
    shown = "" if hidden else f" = {value!r}"
    return f"{origin}: key {key!r}{shown}: {message}{_allowed_text(root, loc)}"


def _choice_hint(item: Any) -> str:
    """A close match for a misspelt choice, e.g. 'sobel' for 'sobol'."""
    value = item.get("input")
    if item["type"] != "literal_error" or not isinstance(value, str):
        return ""
    expected = item.get("ctx", {}).get("expected", "")
    choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
    return did_you_mean(value, choices)


def read_toml(path: Path, error: type[ScenarioError] | None = None) -> dict[str, Any]:
    """Read a TOML file; a missing, unreadable or broken file raises `error`.

    Args:
        path: The file.
        error: The ScenarioError subclass to raise (experiment files use their own).
    """
    error = error or ScenarioError
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as cause:
        raise error(f"{path}: cannot read file ({cause})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as cause:
        raise error(f"{path}: not valid TOML: {cause}") from None


MAX_EXTENDS = 20
"""The longest chain of `extends` followed before giving up."""


def _resolve_extends(
    data: dict[str, Any], origin: str, folder: Path, chain: tuple[Path, ...]
) -> dict[str, Any]:
    """Merge a scenario onto the one its `extends` key names, recursively.

    Args:
        data: The scenario's keys.
        origin: Its name in errors.
        folder: Where a relative `extends` path is looked for (the file's folder).
        chain: The files already on the way, to catch a circle.
    """
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    if not isinstance(base_name, str) or not base_name.strip():
        raise ScenarioError(
            f"{origin}: key 'extends' = {base_name!r}: must be a name; allowed: a "
            "shipped scenario name or a TOML file (relative to this file's folder)"
        )
    path = _extends_path(base_name, folder, origin)
    seen = path.resolve()
    if seen in chain:
        circle = " -> ".join(p.name for p in (*chain[chain.index(seen) :], seen))
        raise ScenarioError(
            f"{origin}: key 'extends' = {base_name!r}: the scenarios extend each "
            f"other in a circle ({circle}); allowed: a chain that ends in a "
            "scenario without extends"
        )
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(
            f"{origin}: key 'extends' = {base_name!r}: more than {MAX_EXTENDS} "
            "scenarios extend each other; allowed: a shorter chain"
        )
    base = _resolve_extends(read_toml(path), str(path), path.parent, (*chain, seen))
    return _deep_merge(base, data)


def _extends_path(name: str, folder: Path, origin: str) -> Path:
    """The file an `extends` names: a TOML path beside the file, or a shipped name."""
    candidate = Path(name)
    if not candidate.is_absolute():
        candidate = folder / candidate
    names = shipped_scenarios()
    if name.endswith(".toml") or "/" in name or candidate.is_file():
        if candidate.is_file():
            return candidate
        raise ScenarioError(
            f"{origin}: key 'extends' = {name!r}: file not found ({candidate}); "
            "allowed: a TOML file (relative to this file's folder) or a shipped "
            f"scenario: {', '.join(names)}"
        )
    shipped = resources.files("scenarios") / f"{name}.toml"
    if shipped.is_file():
        return Path(str(shipped))
    raise ScenarioError(
        f"{origin}: key 'extends' = {name!r}: no such shipped scenario or file"
        f"{did_you_mean(name, names)}; allowed: {', '.join(names)}, or a TOML file "
        "(relative to this file's folder)"
    )


def _deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _set_path(data: dict[str, Any], path: str, value: Any, origin: str) -> None:
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ScenarioError(f"{origin}: key {path!r}: {part!r} is not a table")
        node = child
    node[leaf] = value


def _walk_fields(
    model: type[BaseModel], prefix: str = ""
) -> list[tuple[str, FieldInfo]]:
    """Every settable leaf field of a section tree, as (dotted path, field)."""
    found = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            found.extend(_walk_fields(annotation, f"{path}."))
        elif get_origin(annotation) is not list or not _is_section_list(annotation):
            found.append((path, field))
    return found


def _is_section_list(annotation: Any) -> bool:
    args = get_args(annotation)
    return bool(args) and isinstance(args[0], type) and issubclass(args[0], Section)


def _section_type(path: str) -> type[BaseModel] | None:
    model: type[BaseModel] = Scenario
    for part in [p for p in path.split(".") if p]:
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        if _is_section_list(annotation):
            annotation = get_args(annotation)[0]
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _dict_field(path: str) -> bool:
    fields = dict(_walk_fields(Scenario))
    return path in fields and get_origin(fields[path].annotation) is dict


def _walk(
    root: type[BaseModel], parts: list[str]
) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """Follow a path through a schema: the section it ends at, and the last field.

    Entries of lists and tables (a position, or a key such as a factor's dotted
    name) are stepped over, so a path ending in one names its list or table.
    """
    node: Any = root
    field = None
    for part in parts:
        node = _unwrap(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(part)
            if field is None:
                return None, None
            node = field.annotation
        elif get_origin(node) in (list, dict):
            node = get_args(node)[-1]
        else:
            return None, None
    node = _unwrap(node)
    section = node if isinstance(node, type) and issubclass(node, BaseModel) else None
    return section, field


def _unwrap(annotation: Any) -> Any:
    """The type inside `Annotated[...]` and `X | None`."""
    if get_origin(annotation) is Annotated:
        return _unwrap(get_args(annotation)[0])
    args = [a for a in get_args(annotation) if a is not type(None)]
    if type(None) in get_args(annotation) and len(args) == 1:
        return _unwrap(args[0])
    return annotation


def _allowed_keys(root: type[BaseModel], parent: list[str]) -> list[str]:
    section = _walk(root, parent)[0]
    return sorted(section.model_fields) if section else []


def _allowed_text(root: type[BaseModel], loc: list[str]) -> str:
    """Describe what a field accepts: its type, bounds and choices."""
    field = _walk(root, loc)[1]
    if field is None:
        return ""
    bounds = []
    for meta in field.metadata:
        for attr, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(meta, attr, None) is not None:
                bounds.append(f"{word} {getattr(meta, attr)}")
    kind = _type_name(field.annotation)
    text = f"; allowed: {kind}" + (f" {' and '.join(bounds)}" if bounds else "")
    if field.description:
        text += f" ({field.description})"
    return text


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is None:
        return getattr(annotation, "__name__", str(annotation))
    args = get_args(annotation)
    if str(origin).endswith("Literal"):
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"table of {_type_name(args[1])}"
    if hasattr(annotation, "__metadata__"):
        return _type_name(args[0])
    return " or ".join(_type_name(a) for a in args if a is not type(None))


def did_you_mean(word: str, choices: list[str]) -> str:
    """' (did you mean X?)' for the closest of `choices`, or '' if none is close."""
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not match and "." in word:
        leaf = word.rsplit(".", 1)[-1]
        match = difflib.get_close_matches(leaf, choices, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""
