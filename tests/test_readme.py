"""The README's Python API example runs as written."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_python_api_example(tmp_path, monkeypatch, capsys):
    readme = open(os.path.join(ROOT, "README.md")).read()
    section = readme.split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    history = namespace["history"].history
    assert len(history["loss"]) == 20 and history["accuracy"][-1] > 0.3
    assert 0.0 < history["bmm_noise_fraction"][-1] < 1.0
    assert history["bmm_auc"][-1] > 0.8
    assert os.path.isfile(tmp_path / "exported_models" / "my-digits" / "1" / "saved_model.pb")
    assert "labels resampled" in capsys.readouterr().out


def test_every_train_command_in_the_readme_parses(monkeypatch):
    """Each `python scripts/train.py ...` command of the README resolves to a
    valid configuration (flags and values; no data is read)."""
    import importlib.util
    import shlex

    spec = importlib.util.spec_from_file_location(
        "train_script", os.path.join(ROOT, "scripts", "train.py")
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    readme = open(os.path.join(ROOT, "README.md")).read().replace("\\\n", " ")
    commands = re.findall(r"^python scripts/train\.py(.*)$", readme, re.M)
    assert len(commands) >= 6
    for command in commands:
        config, _ = script.parse_args(shlex.split(command.split("#")[0]))
        assert config.epochs > 0, command
