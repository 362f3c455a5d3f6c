"""The SLURM profile (workflow/profiles/slurm, docs/slurm.md): with the executor plugin
installed, a dry run through it plans the whole build, and every rule it gives cluster
resources to is a rule of the build (a renamed rule would silently lose them). No build runs
through a cluster here: starting one (Debian's slurmctld, slurmd and munge) and building
through it takes minutes, more than the whole suite may."""

import importlib.util

import pytest
import yaml

from helpers import ROOT, copy_repo, planned_rules

pytestmark = pytest.mark.skipif(importlib.util.find_spec("snakemake_executor_plugin_slurm") is None,
                                reason="snakemake-executor-plugin-slurm is not installed (bash workflow/setup.sh installs it)")
PROFILE = "workflow/profiles/slurm"


def test_a_dry_run_through_the_profile_plans_the_build_and_its_resources_name_rules(tmp_path):
    planned = planned_rules(copy_repo(tmp_path / "repo"), "--workflow-profile", PROFILE)
    assert {"samples", "ebm", "variant", "seed", "appendix", "pdf", "submission", "check_submission"} <= set(planned)
    resources = yaml.safe_load((ROOT / PROFILE / "config.yaml").read_text()).get("set-resources", {})
    assert sorted(set(resources) - set(planned)) == [], f"{PROFILE}/config.yaml gives resources to rules that do not exist"
