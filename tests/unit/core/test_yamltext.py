"""The config's YAML reader: yaml.safe_load's values (on libyaml where PyYAML has it), and only safe ones."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from complaints.core import yamltext

PACKAGED = ("policy.yaml", "triage.yaml", "taxonomy.yaml", "messages.yaml")


@pytest.mark.parametrize("name", PACKAGED)
def test_the_packaged_config_reads_as_safe_load_reads_it(name):
    text = resources.files("complaints").joinpath(f"config/{name}").read_text(encoding="utf-8")

    assert yamltext.safe_load(text) == yaml.safe_load(text)


def test_yaml_1_1_scalars_resolve_as_safe_load_resolves_them():
    text = "a: 18:00\nb: '18:00'\nc: yes\nd: 2026-03-05\ne: 0o17\nf: ~\ng: 1e3\n"

    assert yamltext.safe_load(text) == yaml.safe_load(text)


def test_the_reader_is_on_libyaml_where_pyyaml_has_it():
    assert yamltext._SAFE_LOADER is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


@pytest.mark.parametrize("text", ["a: [1, 2", "a: b: c", "!!python/object/apply:os.system ['true']"])
def test_bad_or_unsafe_yaml_is_a_yaml_error(text):
    with pytest.raises(yaml.YAMLError):
        yamltext.safe_load(text)
