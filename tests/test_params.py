import dataclasses
import math

import pytest

from model import PARAM_SPECS, PRESETS, Params
from model.params import param_table_markdown


def test_defaults_roundtrip_through_dict():
    p = Params()
    assert Params.from_dict(p.to_dict()) == p
    assert p.replace(commission_rate=0.2).commission_rate == 0.2
    assert p.commission_rate == next(s.default for s in PARAM_SPECS if s.name == "commission_rate")


def test_params_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Params().commission_rate = 0.5


@pytest.mark.parametrize(
    "name,value,fragment",
    [
        ("base_fee", -1.0, "base_fee"),
        ("commission_rate", 1.0, "[0, 1)"),
        ("commission_rate", -0.1, "commission_rate"),
        ("n_consumers", 0, "n_consumers"),
        ("n_brands", 2.5, "integer"),
        ("platform_take_rate", math.nan, "platform_take_rate"),
        ("agency_policy", "greedy", "'fixed'"),
        ("contract_weeks", math.inf, "contract_weeks"),
    ],
)
def test_invalid_values_name_parameter_value_and_range(name, value, fragment):
    with pytest.raises(ValueError) as err:
        Params(**{name: value})
    msg = str(err.value)
    assert name in msg and fragment in msg and repr(value) in msg


def test_unknown_name_suggests_close_match():
    with pytest.raises(ValueError, match=r"unknown parameter 'comission_rate'.*did you mean 'commission_rate'"):
        Params(comission_rate=0.1)


def test_policy_typo_suggests_choice():
    with pytest.raises(ValueError, match="did you mean 'learning'"):
        Params(agency_policy="lerning")


def test_agency_policy_may_be_given_per_agency():
    mixed = ["learning", "fixed", "fixed", "imitation", "fixed", "fixed"]
    p = Params(agency_policy=mixed)
    assert p.agency_policy == "learning,fixed,fixed,imitation,fixed,fixed"  # one canonical form
    assert p.agency_policies() == tuple(mixed)
    assert Params(agency_policy=" learning, fixed,fixed ,imitation,fixed,fixed") == p
    assert Params.from_dict(p.to_dict()) == p
    assert Params(agency_policy="learning").agency_policies() == ("learning",) * 6
    assert Params(agency_policy="imitation,fixed", n_agencies=2).agency_policies() == ("imitation", "fixed")


@pytest.mark.parametrize(
    "value,fragment",
    [
        ("learning,fixed", "names 2 policies but n_agencies is 6"),
        ("learning,fixd,fixed,fixed,fixed,fixed", "('fixd' is not a choice; did you mean 'fixed'?)"),
        ("learning,,fixed,fixed,fixed,fixed", "('' is not a choice)"),
    ],
)
def test_bad_per_agency_policy_says_what_is_wrong(value, fragment):
    with pytest.raises(ValueError) as err:
        Params(agency_policy=value)
    assert "agency_policy" in str(err.value) and fragment in str(err.value)


def test_values_are_coerced_from_strings_as_in_configs():
    p = Params(n_consumers="500", commission_rate="0.25", use_festivals="false")
    assert p.n_consumers == 500 and p.commission_rate == 0.25 and p.use_festivals is False


def test_presets_exist_and_validate():
    for name in ("typical_tp", "sales_is_king", "brand_partnership", "region_sales_driven", "region_brand_driven"):
        p = Params.preset(name)
        for k, v in PRESETS[name]["params"].items():
            assert getattr(p, k) == v
    assert Params.preset("sales_is_king").commission_rate > Params.preset("brand_partnership").commission_rate
    with pytest.raises(ValueError, match="unknown preset 'sales_is_kin'.*did you mean 'sales_is_king'"):
        Params.preset("sales_is_kin")


def test_from_dict_applies_preset_then_overrides():
    p = Params.from_dict({"preset": "sales_is_king", "commission_rate": 0.1})
    assert p.commission_rate == 0.1
    assert p.base_fee == PRESETS["sales_is_king"]["params"]["base_fee"]


def test_parameter_table_lists_every_parameter():
    table = param_table_markdown()
    for s in PARAM_SPECS:
        assert f"`{s.name}`" in table


def test_readme_parameter_table_is_the_generated_one():
    from pathlib import Path

    from model.params import README_BEGIN, README_END

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = text[text.index(README_BEGIN) + len(README_BEGIN) : text.index(README_END)].strip()
    assert table == param_table_markdown(), "run `agency-sim params --readme`"


@pytest.mark.parametrize(
    "bad, fragment",
    [(None, "got NoneType"), ([("commission_rate", 0.1)], "got list"), ({1: 0.1}, "names must be strings")],
)
def test_from_dict_refuses_what_is_not_a_table_of_names(bad, fragment):
    with pytest.raises(ValueError, match=fragment):
        Params.from_dict(bad)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("commission_rate", "1.5", "parameter 'commission_rate' = '1.5' is invalid: allowed is a number in [0, 1)"),
        ("n_agencies", 2.5, "parameter 'n_agencies' = 2.5 is invalid: allowed is an integer in [1, 200]"),
        ("use_goodwill", "maybe", "parameter 'use_goodwill' = 'maybe' is invalid: allowed is true or false"),
        ("agency_policy", ["learning", "fixd"], "parameter 'agency_policy' = ['learning', 'fixd'] is invalid: allowed "
         "is one of 'fixed', 'learning', 'imitation', or one per agency separated by commas ('fixd' is not a choice; "
         "did you mean 'fixed'?)"),
        ("focal_commission_rate", -1, "parameter 'focal_commission_rate' = -1 is invalid: allowed is a number in "
                                      "[0, 1), or none (the market's term)"),
    ],
)  # fmt: skip
def test_a_bad_value_is_named_as_given_with_what_is_allowed(name, value, message):
    """The error, made only when a value is bad, names the value as it was given (before any
    coercion) and what the parameter allows."""
    with pytest.raises(ValueError) as err:
        Params(**{name: value, "n_agencies": 2} if name == "agency_policy" else {name: value})
    assert str(err.value) == message
