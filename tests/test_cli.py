import json
import subprocess
import sys

import pytest

from tests.helpers import BABI_EN, REPO, TASK1


def memnet(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "memnet", *args], cwd=REPO, input=stdin,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", ["train", "eval", "ask", "simulate"])
def test_every_command_has_help(command):
    result = memnet(command, "--help")
    assert result.returncode == 0 and "usage" in result.stdout


def test_train_eval_ask_round_trip(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "test"):  # a small slice of task 1: the CLI works on any bAbI-format folder
        lines = (BABI_EN / f"{TASK1}_{split}.txt").read_text().splitlines()[:300]
        (data / f"{TASK1}_{split}.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "models"
    trained = memnet("train", "--data", str(data), "--tasks", "1", "--epochs", "5", "--out", str(out))
    assert trained.returncode == 0, trained.stderr
    result_json = tmp_path / "r.json"
    evaluated = memnet("eval", "--model", str(out), "--data", str(data), "--json", str(result_json))
    assert evaluated.returncode == 0, evaluated.stderr
    assert TASK1 in evaluated.stdout and "passed" in evaluated.stdout
    results = json.loads(result_json.read_text())
    assert results["per_task"][TASK1]["n"] == 100 and results["per_task"][TASK1]["accuracy"] > 0.8
    asked = memnet("ask", "--model", str(out / TASK1),
                   stdin="Mary went to the kitchen.\nJohn moved to the garden.\nWhere is John?\n")
    assert asked.returncode == 0, asked.stderr
    assert "Where is John? -> garden" in asked.stdout and "because: [1] John moved to the garden." in asked.stdout


def test_missing_data_and_model_are_clear_errors(tmp_path):
    result = memnet("train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "m"))
    assert result.returncode == 2 and "no such file or directory" in result.stderr and "Traceback" not in result.stderr
    result = memnet("eval", "--model", str(tmp_path / "none"), "--data", str(BABI_EN))
    assert result.returncode == 2 and "no such checkpoint" in result.stderr
