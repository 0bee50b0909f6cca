"""Strict YAML reading: duplicate keys and non-mapping documents are errors with a location."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class _StrictLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r} (line {mark.line + 1})", mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class YamlFileError(Exception):
    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


def read_yaml_mapping(path: Path, shown_as: str) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping (an empty file is an empty mapping)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlFileError(shown_as, "file not found") from None
    except OSError as exc:
        raise YamlFileError(shown_as, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise YamlFileError(shown_as, f"not UTF-8 text (byte {exc.start})") from None
    return parse_yaml_mapping(text, shown_as)


def parse_yaml_mapping(text: str, shown_as: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or str(exc)
        raise YamlFileError(shown_as, f"{where}invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlFileError(shown_as, f"invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise YamlFileError(shown_as, f"expected a mapping of keys at the top level, got {type(data).__name__}")
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise YamlFileError(shown_as, f"keys must be text, got {bad[0]!r}")
    return data


def parse_yaml_scalar(text: str) -> Any:
    """Parse a --set value the way YAML would ('false' -> False, '3' -> 3, 'a' -> 'a')."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError:
        return text
