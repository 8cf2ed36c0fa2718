"""The typed recipe keys: each type accepts what it says and names the key when it does not."""
import math

import pytest

from galsim_deep.training.recipe_schema import (REQUIRED, Bool, Choice, Int, Interval, Names,
                                                Number, Sizes, Text, check_values,
                                                defaults_of)
from galsim_deep.training.recipes import COMMON_SCHEMA, load_recipe, recipe_defaults


@pytest.mark.parametrize("key, good, bad, message", [
    (Int(low=1), [1, 7], [0, -1, 1.5, True, "3"], "an integer >= 1"),
    (Int(low=0, high=3), [0, 3], [4, -1], "an integer in [0, 3]"),
    (Number(low=0, low_open=True), [1e-9, 2, 3.5], [0, -1, math.nan, math.inf, "1", False],
     "a number > 0"),
    (Number(low=0, high=1, high_open=True), [0, 0.999], [1, 1.5, -0.1], "a number in [0, 1)"),
    (Number(low=0, low_open=True, also=("auto",)), ["auto", 2.0], ["automatic", 0],
     "'auto' or a number > 0"),
    (Choice("a", ("a", "b")), ["a", "b"], ["c", None], "one of ['a', 'b']"),
    (Bool(True), [True, False], [0, 1, "yes"], "true or false"),
    (Text(), ["x"], ["", "  ", 3], "a non-empty string"),
    (Text(empty=True), ["", "x"], [None, 3], "a string"),
    (Names(what="column names"), [["a"], ["a", "b"]], [[], ["a", "a"], "a", [1]],
     "a non-empty list of distinct column names"),
    (Sizes(), [[1], [8, 8]], [[], [0], [1.5], 4], "a list of positive integers"),
    (Interval(), [[-5, 3], [0.0, 1e-3]], [[3, -5], [1, 1], [0], [0, "a"]],
     "[low, high] with low < high"),
])
def test_each_type_accepts_what_it_says(key, good, bad, message):
    for value in good:
        assert key.problem("s.k", value) is None, value
    for value in bad:
        text = key.problem("s.k", value)
        assert text == f"s.k must be {message}, got {value!r}", value


def test_null_is_allowed_only_where_declared_and_reasons_are_given():
    assert Int(None, low=1, nullable=True).problem("k", None) is None
    assert Int(low=1).problem("k", None) == "k must be an integer >= 1, got None"
    assert Int(None, low=1, nullable=True, why="null: constant").problem("k", 0) == \
        "k must be null or an integer >= 1 (null: constant), got 0"


def test_defaults_and_checks_walk_nested_sections():
    schema = {"a": Int(3, low=1), "opt": {"rate": Number(0.1, low=0, low_open=True),
                                          "steps": Int(REQUIRED, low=1)}}
    assert defaults_of(schema) == {"a": 3, "opt": {"rate": 0.1, "steps": REQUIRED}}
    problems = []
    check_values({"a": 0, "opt": {"rate": -1, "steps": 5}}, schema, problems, "s")
    assert problems == ["s.a must be an integer >= 1, got 0",
                        "s.opt.rate must be a number > 0, got -1"]


def test_every_default_passes_its_own_check():
    for family in ("flow-vae", "mpcc"):
        from galsim_deep.training.families import get_family

        fam = get_family(family)
        for schema, values in ((COMMON_SCHEMA, recipe_defaults(family)),
                               (fam.schema, recipe_defaults(family)[fam.section])):
            problems = []
            _check_set(values, schema, problems)
            assert problems == [], (family, problems)


def _check_set(values, schema, problems, where=""):
    """check_values on the keys that have a default (REQUIRED ones are the recipe's job)."""
    for name, key in schema.items():
        if isinstance(key, dict):
            _check_set(values[name], key, problems, f"{where}{name}.")
        elif values[name] is not REQUIRED:
            message = key.problem(where + name, values[name])
            if message:
                problems.append(message)


@pytest.mark.parametrize("override, message", [
    ("mpcc.ema_decay=1", r"mpcc.ema_decay must be a number in \[0, 1\) \(0: no moving"),
    ("mpcc.n_clusters=1", "mpcc.n_clusters must be an integer >= 2 .a mixture of one"),
    ("mpcc.optimizer.beta_1=1.0", r"mpcc.optimizer.beta_1 must be a number in \[0, 1\)"),
    ("mpcc.prior_optimizer.warmup_steps=0", "must be null or an integer >= 1"),
    ("mpcc.learn_weights=maybe", "mpcc.learn_weights must be true or false"),
    ("mpcc.prior_init_stddev=0.4", "must be above mpcc.prior_floor"),
    ("mpcc.shared_blocks=9", "mpcc.shared_blocks 9 is more than"),
    ("flow.conditions=[flux_radius]", "add mag_auto to flow.conditions"),
    ("vae.steps=1", "not a recipe key: the recipe has.* mpcc"),
    ("mpcc.step=1", "not a recipe key: mpcc has .*steps"),
])
def test_mpcc_recipes_name_the_key_and_the_allowed_values(override, message):
    with pytest.raises(ValueError, match=message):
        load_recipe("mpcc-tiny", [override])
