"""Deployment explosion (doc/compatibility.rst, "Deployment explosion", "Malformed deployments")."""

from __future__ import annotations

import logging

import pytest

from occ.collectors.deployments import explode


def names(outputs) -> list[str]:
    return [key for key, _ in outputs]


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_the_whole_document_comes_first_deployments_list_included():
    document = {"deployments": [{"name": "d1", "config": {"a": 1}}], "other": True}
    outputs = explode("heat", document, ["deployments"])
    assert outputs[0] == ("heat", document)
    assert outputs[0][1]["deployments"] == [{"name": "d1", "config": {"a": 1}}]
    assert outputs[1:] == [("d1", {"a": 1})]


@pytest.mark.parametrize(
    ("group", "exploded"),
    [
        ("os-apply-config", True),
        ("Heat::Ungrouped", True),
        ("script", False),
        ("puppet", False),
        ("ansible", False),
        ("docker-compose", False),
        ("OS-APPLY-CONFIG", False),
        ("", False),
    ],
)
def test_only_os_apply_config_and_ungrouped_deployments_are_exploded(group, exploded):
    document = {"deployments": [{"name": "d", "group": group, "config": "c"}]}
    assert (names(explode("request", document, ["deployments"])) == ["request", "d"]) is exploded


def test_an_absent_group_means_ungrouped_and_an_explicit_null_is_not_exploded():
    document = {
        "deployments": [
            {"name": "no-group", "config": 1},
            {"name": "null-group", "group": None, "config": 2},
        ]
    }
    assert explode("request", document, ["deployments"])[1:] == [("no-group", 1)]


@pytest.mark.parametrize(
    "config",
    ["a string", ["a", "list"], 42, 1.5, True, None, {"nested": {"k": [1]}}, {}, []],
)
def test_the_config_is_taken_verbatim_whatever_its_json_type(config):
    document = {"deployments": [{"name": "d", "config": config}]}
    assert explode("zaqar", document, ["deployments"])[1:] == [("d", config)]


def test_deployments_keep_list_order_and_keys_keep_configured_order():
    document = {
        "deployments": [{"name": "z", "config": 1}, {"name": "a", "config": 2}],
        "extra": [{"name": "m", "config": 3}],
    }
    assert names(explode("heat", document, ["extra", "deployments"])) == ["heat", "m", "z", "a"]


def test_a_deployment_key_missing_from_the_document_is_skipped_quietly(caplog):
    document = {"deployments": [{"name": "d", "config": 1}]}
    with caplog.at_level(logging.WARNING, logger="occ"):
        outputs = explode("heat", document, ["absent", "deployments"])
    assert names(outputs) == ["heat", "d"]
    assert warnings(caplog) == []


def test_a_deployment_key_listed_twice_is_exploded_twice():
    document = {"deployments": [{"name": "d", "config": 1}]}
    assert names(explode("heat", document, ["deployments", "deployments"])) == ["heat", "d", "d"]


def test_only_top_level_keys_are_exploded():
    document = {"inner": {"deployments": [{"name": "d", "config": 1}]}}
    assert names(explode("heat", document, ["deployments"])) == ["heat"]


def test_a_value_that_is_not_a_list_warns_and_the_other_keys_still_explode(caplog):
    document = {"deployments": {"name": "d", "config": 1}, "more": [{"name": "m", "config": 2}]}
    with caplog.at_level(logging.WARNING, logger="occ"):
        outputs = explode("request", document, ["deployments", "more"])
    assert names(outputs) == ["request", "m"]
    (warning,) = warnings(caplog)
    assert "request" in warning
    assert "deployments" in warning


@pytest.mark.parametrize(
    "element",
    [
        "just a string",
        ["a", "list"],
        None,
        7,
        {"config": "no name"},
        {"name": 5, "config": "number name"},
        {"name": None, "config": "null name"},
        {"name": "no-config"},
        {"name": "no-config", "group": "os-apply-config"},
    ],
)
def test_malformed_elements_are_skipped_with_a_warning_and_the_rest_kept(caplog, element):
    document = {
        "deployments": [{"name": "before", "config": 1}, element, {"name": "after", "config": 2}]
    }
    with caplog.at_level(logging.WARNING, logger="occ"):
        outputs = explode("cfn", document, ["deployments"])
    assert outputs[1:] == [("before", 1), ("after", 2)]
    (warning,) = warnings(caplog)
    assert "cfn" in warning


def test_a_deployment_of_another_group_needs_no_config(caplog):
    document = {"deployments": [{"name": "hooked", "group": "script", "inputs": []}]}
    with caplog.at_level(logging.WARNING, logger="occ"):
        assert names(explode("heat", document, ["deployments"])) == ["heat"]
    assert warnings(caplog) == []


@pytest.mark.parametrize("document", [["a", "list"], "text", None, 3])
def test_a_document_that_is_not_an_object_is_returned_alone(document):
    assert explode("request", document, ["deployments"]) == [("request", document)]


def test_no_deployment_keys_means_no_explosion():
    document = {"deployments": [{"name": "d", "config": 1}]}
    assert explode("heat", document, []) == [("heat", document)]


def test_names_are_passed_on_verbatim_for_the_cache_to_judge():
    document = {
        "deployments": [{"name": "../escaped", "config": 1}, {"name": "request", "config": 2}]
    }
    assert names(explode("request", document, ["deployments"])) == [
        "request",
        "../escaped",
        "request",
    ]
