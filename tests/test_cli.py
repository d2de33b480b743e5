import io
import json
import subprocess
import sys

import pytest

from memnet.cli import main
from tests.helpers import BABI_EN, REPO, TASK1


def memnet(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "memnet", *args], cwd=REPO, input=stdin,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", ["train", "eval", "ask", "simulate", "configure"])
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


def test_train_takes_the_bAbI_settings_flags(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    lines = (BABI_EN / f"{TASK1}_train.txt").read_text().splitlines()[:150]
    (data / f"{TASK1}_train.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "model"
    trained = memnet("train", "--data", str(data), "--tasks", "1", "--joint", "--epochs", "1", "--out", str(out),
                     "--beam", "3", "--pair-margin", "2.5", "--compose", "8", "--dropout-o-only", "--entity-roles")
    assert trained.returncode == 0, trained.stderr
    config = json.loads((out / "config.json").read_text())["model"]
    assert (config["beam"], config["pair_margin"], config["compose"], config["dropout_o_only"], config["entity_roles"]) == (3, 2.5, 8, True, True)
    weights = (out / "weights.safetensors").read_bytes()
    configured = memnet("configure", "--model", str(out), "--word-hashing", "2", "--beam", "1")
    assert configured.returncode == 0 and "word_hashing 2, beam 1" in configured.stdout, configured.stderr
    config = json.loads((out / "config.json").read_text())["model"]
    assert (config["word_hashing"], config["beam"], config["pair_margin"]) == (2, 1, 2.5)
    assert (out / "weights.safetensors").read_bytes() == weights   # search settings only: no weight changes
    refused = memnet("configure", "--model", str(out), "--beam", "0")
    assert refused.returncode == 2 and "beam at least 1" in refused.stderr and "Traceback" not in refused.stderr
    assert json.loads((out / "config.json").read_text())["model"]["beam"] == 1


def test_train_init_continues_a_checkpoint(tmp_path):
    """--init: the checkpoint's vocabulary and settings stay (compose 8 and the simple input map, though
    the command line says neither), --lr, --epochs and --seed apply, and the further epochs teach it more."""
    data = tmp_path / "data"
    data.mkdir()
    lines = (BABI_EN / f"{TASK1}_train.txt").read_text().splitlines()
    (data / f"{TASK1}_train.txt").write_text("\n".join(lines[:300]) + "\n")
    (data / f"{TASK1}_test.txt").write_text("\n".join(lines[300:450]) + "\n")
    first, more = tmp_path / "first", tmp_path / "more"
    trained = memnet("train", "--data", str(data), "--joint", "--epochs", "1", "--lr", "0.001", "--compose", "8", "--out", str(first))
    assert trained.returncode == 0, trained.stderr
    continued = memnet("train", "--data", str(data), "--joint", "--init", str(first), "--epochs", "4", "--lr", "0.05",
                       "--seed", "3", "--input", "spacy", "--out", str(more))
    assert continued.returncode == 0, continued.stderr
    assert "ignored: input_map spacy" in continued.stderr   # said, not silently dropped
    before, after = (json.loads((out / "config.json").read_text()) for out in (first, more))
    assert after["vocabulary"] == before["vocabulary"]
    assert (after["model"]["compose"], after["model"]["input_map"]) == (8, "simple")
    assert (after["model"]["lr"], after["model"]["epochs"], after["model"]["seed"]) == (0.05, 4, 3)
    assert after["init"] == str(first)
    scores = [float(memnet("eval", "--model", str(out), "--data", str(data)).stdout.split("%")[0].split()[-1])
              for out in (first, more)]
    assert scores[1] > scores[0], scores
    refused = memnet("train", "--data", str(data), "--init", str(first), "--out", str(tmp_path / "per-task"))
    assert refused.returncode == 2 and "needs --joint" in refused.stderr
    refused = memnet("train", "--data", str(data), "--joint", "--init", str(first), "--restarts", "2", "--out", str(more))
    assert refused.returncode == 2 and "--restarts" in refused.stderr and "ignored" not in refused.stderr


def test_train_restarts_say_and_record_the_run_kept(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    lines = (BABI_EN / f"{TASK1}_train.txt").read_text().splitlines()[:150]
    (data / f"{TASK1}_train.txt").write_text("\n".join(lines) + "\n")
    trained = memnet("train", "--data", str(data), "--joint", "--epochs", "1", "--lr", "0.001", "--restarts", "2",
                     "--average", "3", "--out", str(tmp_path / "m"))
    assert trained.returncode == 0, trained.stderr
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert len(saved["training_errors"]) == 2 and saved["restart"] in (0, 1)
    assert f"restart {saved['restart']} kept (training errors" in trained.stdout
    assert (saved["model"]["seed"], saved["model"]["restarts"], saved["model"]["average"]) == (0, 2, 3)
    refused = memnet("train", "--data", str(data), "--average", "-1", "--out", str(tmp_path / "n"))
    assert refused.returncode == 2 and "--average must be at least 0" in refused.stderr and "Traceback" not in refused.stderr
    refused = memnet("train", "--data", str(data), "--restarts", "0", "--out", str(tmp_path / "n"))
    assert refused.returncode == 2 and "--restarts must be at least 1" in refused.stderr and "Traceback" not in refused.stderr
    assert "continuing" not in refused.stderr   # nothing was being continued
    refused = memnet("train", "--data", str(data), "--joint", "--init", str(tmp_path / "m"), "--restarts", "2", "--out", str(tmp_path / "n"))
    assert refused.returncode == 2 and "--restarts must be 1 when continuing a checkpoint" in refused.stderr


def test_missing_data_and_model_are_clear_errors(tmp_path):
    result = memnet("train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "m"))
    assert result.returncode == 2 and "no such file or directory" in result.stderr and "Traceback" not in result.stderr
    result = memnet("eval", "--model", str(tmp_path / "none"), "--data", str(BABI_EN))
    assert result.returncode == 2 and "no such checkpoint" in result.stderr


def test_en_valid_names_and_byte_order_marks(tmp_path):
    """v1.2's en-valid folder: train finds qa1_train.txt, eval scores qa1_test.txt only, both with a BOM."""
    lines = (BABI_EN / f"{TASK1}_train.txt").read_text().splitlines()
    data = tmp_path / "en-valid"
    data.mkdir()
    for name, part in [("qa1_train.txt", lines[:300]), ("qa1_valid.txt", lines[300:360]), ("qa1_test.txt", lines[360:450])]:
        (data / name).write_text("\n".join(part) + "\n", encoding="utf-8-sig")
    out = tmp_path / "models"
    trained = memnet("train", "--data", str(data), "--tasks", "1", "--epochs", "5", "--out", str(out))
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.startswith("qa1: 100 questions")
    result_json = tmp_path / "r.json"
    evaluated = memnet("eval", "--model", str(out), "--data", str(data), "--tasks", "1", "--json", str(result_json))
    assert evaluated.returncode == 0, evaluated.stderr
    assert list(json.loads(result_json.read_text())["per_task"]) == ["qa1"]
    assert json.loads(result_json.read_text())["per_task"]["qa1"]["n"] == 30 and "passed (>= 95%): " in evaluated.stdout
    asked = memnet("ask", "--model", str(out / "qa1"), stdin="\ufeff" + "\n".join(lines[:3]) + "\n")
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.startswith("Where is Mary? -> bathroom  (right)\n    because: [0] Mary moved to the bathroom.")


def test_train_and_valid_files_are_no_test_set(tmp_path, capsys):
    (tmp_path / "qa1_train.txt").write_text("1 Mary went home.\n2 Where is Mary?\thome\t1\n")
    (tmp_path / "qa1_valid.txt").write_text("1 Mary went home.\n2 Where is Mary?\thome\t1\n")
    assert main(["eval", "--data", str(tmp_path)]) == 2
    assert "no test files" in capsys.readouterr().err


def test_a_dialog_babi_file_is_refused_with_file_and_line(tmp_path, capsys, monkeypatch):
    dialog = tmp_path / "dialog-babi-task1-API-calls-tst.txt"
    dialog.write_text("1 hi\thello what can i help you with today\n2 may i have a table\ti'm on it\n")
    assert main(["eval", "--data", str(dialog)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.splitlines() == [
        f"error: {dialog}:1: this looks like dialog bAbI (a user turn, a tab, the bot's reply), "
        "not a bAbI question line; memnet reads the question-answering tasks"]
    assert main(["ask", str(dialog)]) == 2   # ask refuses it as eval does, before answering anything
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith(f"error: {dialog}:1: this looks like dialog bAbI")
    monkeypatch.setattr("sys.stdin", io.StringIO(dialog.read_text()))
    assert main(["ask"]) == 2 and capsys.readouterr().err.startswith("error: <stdin>:1: this looks like dialog bAbI")
