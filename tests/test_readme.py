"""The README's first Python example runs and prints what its comments say (on the bundled model)."""
import contextlib
import io
import re

from tests.helpers import REPO


def test_the_readme_python_example_prints_what_it_says():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block, "README.md", "exec"), {})
    # each print's comment opens with what it prints
    expected = [line.split("# ", 1)[1] for line in block.splitlines() if line.startswith("print(")]
    for out, comment in zip(printed.getvalue().splitlines(), expected, strict=True):
        assert comment.startswith(out), (out, comment)
