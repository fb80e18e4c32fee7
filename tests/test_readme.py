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
