"""Declared arguments (gs.params) and the checkpoint contract's reader (gs.models.checkpoint)."""

from __future__ import annotations

import inspect
from typing import Annotated

import click
import pytest
from click.testing import CliRunner

from gs.clitools import declared_options, user_errors
from gs.errors import UserInputError
from gs.models.checkpoint import GeneratorRecord
from gs.params import Param, check_params, declared_params
from gs.train.began import BEGANModule
from gs.train.dcgan import DCGANModule


def sample(count: Annotated[int, Param("How many.", min=1)],
           share: Annotated[float, Param("A share.", min=0, max=1, min_open=True)] = 0.5,
           kind: Annotated[str, Param("Which.", choices=("a", "b"))] = "a",
           plain: int = 3) -> None:
    """An annotated signature to read."""


def test_declarations_are_read_with_type_default_and_range():
    declared = declared_params(sample)
    assert list(declared) == ["count", "share", "kind"]  # ``plain`` declares nothing
    assert declared["count"].type is int and declared["count"].default is inspect.Parameter.empty
    assert declared["share"].param.describe() == "in (0, 1]"
    assert declared["count"].param.describe() == "≥ 1"
    assert declared["kind"].param.describe() == "one of a, b"
    assert check_params(sample, {"count": 2, "share": 1, "plain": -7}) == {
        "count": 2, "share": 1.0, "plain": -7}


@pytest.mark.parametrize("name, value, message", [
    ("count", 0, "count must be an integer ≥ 1, got 0"),
    ("count", 2.5, "count must be an integer ≥ 1, got 2.5"),
    ("count", True, "count must be an integer ≥ 1, got True"),
    ("share", 0, r"share must be a number in \(0, 1\], got 0"),
    ("share", "x", "share must be a number"),
    ("kind", "c", "kind must be one of a, b, got 'c'"),
])
def test_a_value_outside_its_declaration_names_the_field(name, value, message):
    with pytest.raises(ValueError, match=message):
        check_params(sample, {name: value})


def listed(weights: Annotated[tuple[float, ...], Param("Weights.", min=0, max=1,
                                                       min_open=True)] = (),
           rate: Annotated[float, Param("A rate.", min=0, min_open=True, finite=True)] = 1.0,
           picks: Annotated[tuple[str, ...], Param("Picks.", choices=("a", "b"))] = ()) -> None:
    """Declarations of a tuple's items and of a finite number."""


def test_a_tuple_declaration_bounds_each_item_and_finite_refuses_infinities():
    declared = declared_params(listed)
    assert declared["weights"].type is float and declared["weights"].many
    assert declared["weights"].check([0.5, 1]) == (0.5, 1.0)
    assert declared["rate"].check(2) == 2.0 and not declared["rate"].many
    for name, value, message in [
        ("weights", (0.5, 0), r"weights must list numbers in \(0, 1\], got \(0.5, 0\)"),
        ("weights", 0.5, "weights must list numbers"),
        ("picks", ("a", "c"), "picks must list values among a, b"),
        ("rate", float("inf"), "rate must be a finite number > 0, got inf"),
        ("rate", float("nan"), "rate must be a finite number > 0, got nan"),
    ]:
        with pytest.raises(ValueError, match=message):
            declared[name].check(value)


def test_a_bounded_number_is_never_nan():
    assert not Param("x", min=0).allows(float("nan"))
    assert Param("x", min=0).allows(float("inf")) and not Param("x", finite=True).allows(
        float("-inf"))
    assert Param("x", finite=True).bounded


def flagged(switch: Annotated[bool, Param("On or off.")] = False,
            verbose: Annotated[bool, Param("Talk.")] = True) -> None:
    """Two declared booleans."""


def command_of(optional: bool) -> click.Command:
    """A command whose flags come from ``sample`` and ``flagged``; it echoes what it got,
    after checking the values against their declarations as a library would."""

    @click.command()
    @declared_options(declared_params(sample).values(), optional=optional)
    @declared_options(declared_params(flagged).values())
    @user_errors
    def command(**values: object) -> None:
        given = {k: v for k, v in values.items() if v is not None and k in declared_params(sample)}
        click.echo(sorted({**values, **check_params(sample, given)}.items()))

    return command


def test_declared_options_are_typed_and_the_declaration_checks_them_naming_the_flag():
    result = CliRunner().invoke(command_of(False), ["--count", "2", "--share", "1", "--switch",
                                                    "--no-verbose"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(sorted(
        {"count": 2, "share": 1.0, "kind": "a", "switch": True, "verbose": False}.items()))
    result = CliRunner().invoke(command_of(False), ["--count", "0"])
    assert result.exit_code == 2
    assert "--count must be an integer ≥ 1, got 0" in result.output
    assert "Traceback" not in result.output
    assert CliRunner().invoke(command_of(False), []).exit_code == 2  # --count is required
    help_text = CliRunner().invoke(command_of(False), ["--help"]).output
    assert "Allowed: in (0, 1]" in help_text and "--verbose / --no-verbose" in help_text


def test_optional_declared_options_default_to_none_and_name_the_default():
    result = CliRunner().invoke(command_of(True), [])
    assert result.exit_code == 0, result.output
    assert "('count', None)" in result.output and "('share', None)" in result.output
    assert "[default: 0.5]" in CliRunner().invoke(command_of(True), ["--help"]).output


def test_a_subclass_declaration_overrides_its_base_and_inherits_the_rest():
    began, dcgan = declared_params(BEGANModule), declared_params(DCGANModule)
    assert began["lr"].default == 1e-4 and dcgan["lr"].default == 2e-4  # GANModule's default
    assert began["beta2"].default == dcgan["beta2"].default == 0.999
    assert {"gamma", "lambda_k"} <= set(began) and "gamma" not in dcgan


def test_the_checkpoint_reader_accepts_both_records_and_refuses_a_nameless_one():
    assert GeneratorRecord.read({"epoch": 1}) is None and GeneratorRecord.read([1]) is None
    lightning = {"hyper_parameters": {"model_name": "dcgan", "model_config": {"nz": 4},
                                      "cut_before_training": 1},
                 "state_dict": {"generator.main.0.weight": 1, "discriminator.x": 2}}
    record = GeneratorRecord.read(lightning)
    assert (record.model_name, record.model_config, record.cut_before_training) == (
        "dcgan", {"nz": 4}, 1)
    assert record.state_dict == {"main.0.weight": 1}
    generator_file = {"model_name": "vae", "model_config": {}, "state_dict": {"fc.bias": 0}}
    assert GeneratorRecord.read(generator_file).state_dict == {"fc.bias": 0}
    with pytest.raises(ValueError, match="without a model_name"):
        GeneratorRecord.read({"hyper_parameters": {}, "state_dict": {}})


def test_a_declaration_is_described_as_json_schema():
    declared = {**declared_params(sample), **declared_params(listed)}
    assert declared["share"].json_schema() == {
        "type": "number", "description": "A share.", "default": 0.5, "exclusiveMinimum": 0,
        "maximum": 1}
    assert declared["kind"].json_schema()["enum"] == ["a", "b"]
    assert "default" not in declared["count"].json_schema()
    assert declared["weights"].json_schema()["items"]["exclusiveMinimum"] == 0


def test_init_spec_checks_its_declarations_under_the_names_users_set_them_by():
    from gs.latent import INIT_FIELDS, INIT_PARAMS, InitSpec

    assert set(INIT_PARAMS) == set(INIT_FIELDS.values()) == {"init", "init_std", "init_limit"}
    for changes, field in (({"kind": "gamma"}, "init"), ({"std": 0.0}, "init_std"),
                           ({"std": float("inf")}, "init_std"), ({"limit": -1.0}, "init_limit")):
        with pytest.raises(UserInputError) as caught:
            InitSpec(**changes)
        assert caught.value.field == field
    assert InitSpec("normal", std=0.5).std == 0.5
