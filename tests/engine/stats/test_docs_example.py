"""The worked example in docs/statistics.md runs end to end."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "statistics.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_the_statistics_page_has_a_worked_example():
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert blocks, "docs/statistics.md should end with a python example"
    assert any("spc." in block for block in blocks)
    assert any("disparity.compare" in block for block in blocks)


def test_the_worked_example_runs_and_finds_the_planted_gap(capsys):
    namespace: dict = {}
    for block in python_blocks(DOC.read_text(encoding="utf-8")):
        exec(compile(block, str(DOC), "exec"), namespace)
    # the example plants a rise in readmissions for Spanish speakers from month 19
    table = namespace["table"]
    spanish = table.set_index("group").loc["Spanish"]
    assert spanish["significant"]
    assert namespace["chart"].variation_icon == "concern_high"
    assert "variation icon" in capsys.readouterr().out
