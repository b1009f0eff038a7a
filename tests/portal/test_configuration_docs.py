"""The README's configuration table and the settings module name the same variables."""

import ast
import re

from django.conf import settings

# Read outside portal/settings.py: by the shell scripts under bin/.
READ_BY_SCRIPTS = {"PYTHON"}


def documented() -> set[str]:
    readme = (settings.BASE_DIR / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", table, flags=re.MULTILINE))


def read_by_settings() -> set[str]:
    """The first argument of every ``env.<cast>(NAME, ...)`` call and of the helper
    that wraps one."""
    tree = ast.parse((settings.BASE_DIR / "portal" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        reads_env = (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
        ) and func.value.id == "env"
        if reads_env or (isinstance(func, ast.Name) and func.id == "_required_in_production"):
            first = node.args[0]
            if isinstance(first, ast.Constant):  # not the helper's own env.str(name)
                names.add(first.value)
    return names


def test_every_variable_the_settings_read_is_documented():
    assert read_by_settings() - documented() == set()


def test_every_documented_variable_is_read():
    assert documented() - read_by_settings() - READ_BY_SCRIPTS == set()
