"""Reading the config file: YAML, one mapping at the top, and no key given twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rotator.config.errors import ConfigError


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that notes each mapping key given twice, which safe_load would silently resolve to the last."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node = super().compose_mapping_node(anchor)
        first_lines: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue  # keys beside a merge (<<) override the merged ones on purpose
            line = key.start_mark.line + 1
            earlier = first_lines.get((key.tag, key.value))
            if earlier is None:
                first_lines[(key.tag, key.value)] = line
            else:
                self.duplicates.append(
                    (
                        line,
                        f"line {line}: duplicate key {key.value!r} "
                        f"(also on line {earlier}; the earlier one would be silently ignored)",
                    )
                )
        return node


def read_yaml(path: Path) -> Any:
    """The file's top-level mapping; every problem is a ConfigError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror}"]) from None
    loader = _UniqueKeyLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError([f"{path}: {where}not valid YAML: {getattr(error, 'problem', error)}"]) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise ConfigError([f"{path}: {problem}" for _, problem in sorted(loader.duplicates)])
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be a mapping with at least 'orgs'"])
    return data
