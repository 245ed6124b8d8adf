"""The layering contract's checker (tests/layers.py) finds what it names: an import upwards, an
import cycle (a function's import too) and a module in no layer."""

from __future__ import annotations

from tests.layers import cycles, imports, layer_of, modules, problems

LAYERS = (("bot", "bot.low"), ("bot.high",))


def sources(**modules: str) -> dict[str, tuple[str, bool]]:
    return {name.replace("__", "."): (source, False) for name, source in modules.items()}


def test_a_module_is_placed_by_the_longest_name_and_the_package_only_by_its_own() -> None:
    layers = (("bot", "bot.review"), ("bot.review.cli",))
    assert layer_of("bot", layers) == 0
    assert layer_of("bot.review.pages", layers) == 0
    assert layer_of("bot.review.cli", layers) == 1
    assert layer_of("bot.unplaced", layers) is None


def test_imports_name_modules_whatever_the_form() -> None:
    known = {"bot", "bot.low", "bot.high", "bot.high.page"}
    source = (
        "import os\nfrom bot import low\nfrom bot.high.page import Page\n"
        "def f():\n    from . import high\n    import bot.low\n"
    )
    found = {(i.imported, i.line) for i in imports("bot.mid", source, known, is_package=False)}
    assert found == {("bot.low", 2), ("bot.high.page", 3), ("bot.high", 5), ("bot.low", 6)}


def test_a_clean_tree_has_no_problems() -> None:
    tree = sources(bot__low="import bot", bot__high="from bot import low")
    assert problems({**tree, "bot": ("", True)}, LAYERS) == []


def test_an_import_upwards_is_a_problem() -> None:
    tree = sources(bot__low="x = 1\nfrom bot.high import thing", bot__high="")
    assert problems({**tree, "bot": ("", True)}, LAYERS) == [
        "bot/low (line 2) imports bot.high, a higher layer"
    ]


def test_a_cycle_is_a_problem_even_through_a_function_and_in_one_layer() -> None:
    tree = sources(bot__high="from bot.high import b", bot__high__b="def f():\n    import bot.high")
    found = problems({**tree, "bot": ("", True)}, LAYERS)
    assert found == ["an import cycle: bot.high -> bot.high.b (and back)"]


def test_a_module_in_no_layer_is_a_problem() -> None:
    found = problems({"bot": ("", True), "bot.new": ("", False)}, LAYERS)
    assert found == ["bot.new is in no layer: add it to LAYERS in tests/layers.py"]


def test_cycles_are_the_components_of_more_than_one_module() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_project_keeps_the_contract() -> None:
    sources = {
        name: (path.read_text(encoding="utf-8"), path.name == "__init__.py")
        for name, path in modules().items()
    }
    assert len(sources) > 80  # every module of bot/ and actions/ was read
    assert problems(sources) == []
