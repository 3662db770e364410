"""What an operator relies on, checked against a real `make run`:

- scripts/check_make_run.sh: /metrics against docs/metrics.md, a running batch found by the
  Temporal CLI by BatchStatus, BatchTenant and BatchModel (and BatchPriority), an API cancel
  showing up in BatchStatus;
- scripts/check_docs_commands.sh: every command of docs/runbook.md, run as written there;
- the README's quick start: its Python client block and its curl block, as written there
  (only the port moved to this make run's).

So the docs' commands and the metrics reference cannot drift from the code unnoticed.
"""

import os
import re
import subprocess
import sys
import tempfile

from test_crash_recovery import (
    ADMIN_PORT,
    HTTP_PORT,
    PG_PORT,
    ROOT,
    TEMPORAL_PORT,
    TEMPORAL_UI_PORT,
    MakeRun,
    data_dir,  # noqa: F401  (the fixture)
)

# make run's own default key and tenant: the runbook's commands are written for them.
API_KEY = "sk-local"
TENANT = "default"


def script_env():
    env = dict(os.environ)
    env.update(
        BGW_HTTP_PORT=str(HTTP_PORT),
        BGW_ADMIN_PORT=str(ADMIN_PORT),
        BGW_PG_PORT=str(PG_PORT),
        BGW_TEMPORAL_PORT=str(TEMPORAL_PORT),
        BGW_TEMPORAL_UI_PORT=str(TEMPORAL_UI_PORT),
        BGW_API_KEY=API_KEY,
        BGW_API_KEYS=f"{API_KEY}:{TENANT}",
        BGW_TENANT=TENANT,
    )
    return env


def run_script(name):
    result = subprocess.run(
        ["bash", f"scripts/{name}"],
        cwd=ROOT,
        env=script_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=600,
    )
    output = result.stdout.decode(errors="replace")
    print(output[-4000:])
    return result.returncode, output


def readme_block(heading, language):
    """The first fenced block of LANGUAGE after the README heading HEADING, with make run's
    default API port replaced by this test's."""
    text = (ROOT / "README.md").read_text()
    start = text.index(heading)
    match = re.compile(r"```" + language + r"\n(.*?)```", re.S).search(text, start)
    assert match, f"no {language} block after {heading!r} in README.md"
    return match.group(1).replace("127.0.0.1:8000", f"127.0.0.1:{HTTP_PORT}")


def run_readme_quick_start():
    with tempfile.TemporaryDirectory() as work:
        python = subprocess.run(
            [sys.executable, "-c", readme_block("### A first batch with the Python client", "python")],
            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300,
        )
        output = python.stdout.decode(errors="replace")
        assert python.returncode == 0, output
        lines = output.splitlines()
        assert lines[0].startswith("completed BatchRequestCounts("), output
        assert "completed=100" in lines[0] and "failed=0" in lines[0], output
        assert len(lines) == 4, output  # three answers printed

        # The curl block reads requests.jsonl, which the Python block wrote in this folder.
        curl = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", readme_block("### The same with curl", "sh")],
            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
        )
        output = curl.stdout.decode(errors="replace")
        assert curl.returncode == 0, output
        assert '"object":"batch"' in output and '"status":"' in output, output


def test_the_operator_checks_and_the_runbook_commands_pass_against_make_run(data_dir):  # noqa: F811
    run = MakeRun(data_dir, {"BGW_API_KEYS": f"{API_KEY}:{TENANT}"})
    try:
        run.start()
        run_readme_quick_start()
        rc, output = run_script("check_make_run.sh")
        assert rc == 0, output[-4000:]
        assert "all checks passed" in output
        rc, output = run_script("check_docs_commands.sh")
        assert rc == 0, output[-4000:]
    finally:
        run.stop()
