"""`--engine`: the local engine needs no Ray; asking for Ray without it says how to install it."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, SAMPLES, run_cli


def test_help_and_a_local_run_do_not_import_ray(tmp_path):
    code = ("import sys\nfrom click.testing import CliRunner\nfrom pipeline.cli import main\n"
            f"CliRunner().invoke(main, ['run', {str(SAMPLES)!r}, '--out', {str(tmp_path / 'out')!r}, "
            "'--stages', 'clean', '--workers', '1', '--quiet'])\n"
            "CliRunner().invoke(main, ['run', '--help'])\n"
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "out" / "fr-article" / "clean.json").is_file()


def test_engine_ray_without_ray_installed_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets when Ray is not installed
    result = run_cli("run", str(SAMPLES), "--out", str(tmp_path / "out"), "--engine", "ray")
    assert result.exit_code == 1
    assert "pip install 'newsum[ray]'" in result.output
    assert not list((tmp_path / "out").rglob("*.json"))


def test_ray_address_needs_the_ray_engine(tmp_path):
    result = run_cli("run", str(SAMPLES), "--out", str(tmp_path / "out"), "--ray-address", "auto")
    assert result.exit_code == 1
    assert "--engine ray" in result.output


def test_model_actors_ask_for_a_gpu_when_the_configuration_or_the_cluster_says_so():
    from pipeline.engines.ray import wants_gpu

    assert wants_gpu("cuda", 0) and wants_gpu("cuda:1", 4)
    assert wants_gpu("auto", 2)
    assert not wants_gpu("auto", 0)
    assert not wants_gpu("cpu", 8)
