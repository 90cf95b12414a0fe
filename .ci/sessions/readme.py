"""Runs the README's quick start exactly as printed, in order, against a demo server on the
default ports (127.0.0.1:7400 and :7401): the `redis-cli`/`curl` block, then the Python block,
then the Node block. Each command's output must be what the README shows: the `# …` lines under
a shell command, the trailing `# …` / `// …` comment of each line that prints in the Python and
Node blocks.

    python3 readme.py README.md PYTHON NODE_DIR

PYTHON is the interpreter with the README's `pip install redis`; NODE_DIR the folder whose
node_modules has the README's `npm install redis` (the snippet is written there, as a module).
"""

import json
import os
import re
import subprocess
import sys

readme, python, node_dir = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(readme, encoding="utf-8").read()
blocks = re.findall(r"^```(\w+)\n(.*?)^```", text, flags=re.S | re.M)
failures = 0


def check(what, got, want):
    global failures
    if got == want:
        print(f"ok: {what}")
    else:
        failures += 1
        print(f"FAIL: {what}\n  want: {want!r}\n  got:  {got!r}")


def only(lang, marker):
    found = [body for l, body in blocks if l == lang and marker in body]
    if len(found) != 1:
        raise SystemExit(f"readme: want one ```{lang} block with {marker!r}, found {len(found)}")
    return found[0]


# 1. The shell block of redis-cli lines, each followed by its output as `# …` lines.
steps = []
for line in only("sh", "redis-cli -p 7400").splitlines():
    if line.startswith("# "):
        steps[-1][1].append(line[2:])
    elif line.strip():
        steps.append((line, []))
for command, want in steps:
    run = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
    if command.startswith("curl"):
        # No output printed in the README: it must succeed and be JSON.
        try:
            json.loads(run.stdout)
            check(command, run.returncode, 0)
        except ValueError:
            check(command, run.stdout, "a JSON body")
    else:
        # (redis-cli ends an error with an empty line when its output is not a terminal.)
        check(command, (run.stdout + run.stderr).rstrip("\n").splitlines(), want)


def printed(body, comment):
    """The outputs the README promises: the trailing comment of each line that prints."""
    return [line.rsplit(comment, 1)[1].strip() for line in body.splitlines()
            if ("print(" in line or "console.log(" in line) and comment in line]


def run_snippet(lang, argv, body, comment):
    run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        check(f"the {lang} block runs", run.stderr.strip(), "")
        return
    check(f"the {lang} block prints", [l.strip() for l in run.stdout.splitlines()],
          printed(body, comment))


# 2. The Python block, as printed.
py = only("python", "redis.Redis(port=7400")
run_snippet("python", [python, "-c", py], py, "  # ")

# 3. The Node block, as printed, in an ES module beside NODE_DIR's node_modules.
js = only("js", "createClient(")
path = os.path.join(node_dir, "readme-snippet.mjs")
with open(path, "w", encoding="utf-8") as f:
    f.write(js)
try:
    run_snippet("node", ["node", path], js, "  // ")
finally:
    os.remove(path)

print(f"readme: {len(steps) + 2 - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
