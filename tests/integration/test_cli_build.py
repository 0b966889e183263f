"""``dockyard build`` against a real engine, side by side with the docker CLI's classic build.

Both CLIs build the same contexts on the same engine (``DOCKER_BUILDKIT=0``
for docker, so both speak the classic ``POST /build`` protocol). Where the
engine's answer is deterministic (a fully cached build) the printed text must
be the same bytes; elsewhere only container IDs may differ.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import uuid
from pathlib import Path

import pytest

HEX12 = re.compile(r"\b[0-9a-f]{12}\b")


def step_image(output: str, step: int) -> str:
    """The image ID a step of a classic build ended with (`` ---> <id>`` before the next step)."""
    part = output.split(f"Step {step}/", 1)[1].split(f"Step {step + 1}/", 1)[0]
    return re.findall(r"^ ---> ([0-9a-f]{12})$", part, re.M)[-1]


@pytest.fixture(autouse=True)
def classic_builder(monkeypatch):
    monkeypatch.setenv("DOCKER_BUILDKIT", "0")


@pytest.fixture
def repo(engine):
    """A unique repository name; its tags, and the images only they held, are removed at the end."""
    name = f"dockyard-build-{uuid.uuid4().hex[:10]}"
    yield name
    refs = engine.cli("images", "--format", "{{.Repository}}:{{.Tag}}", name).stdout.split()
    if refs:
        engine.cli("rmi", *refs)


def write_context(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
    return root


def run_in(engine, image: str, *cmd: str) -> str:
    r = engine.cli("run", "--rm", image, *cmd)
    assert r.returncode == 0, r.stderr
    return r.stdout


def inspect(engine, ref: str) -> dict:
    r = engine.cli("image", "inspect", ref)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]


BASIC = {
    "Dockerfile": 'FROM busybox\nLABEL x=y\nRUN echo out; echo err >&2\nCOPY f /f\nENV A=b\nCMD ["cat", "/f"]\n',
    "f": "data\n",
}


def raw(run, *args: str):
    """Run a CLI with bytes output (text mode would fold docker's "\\r\\r\\n"); stdout/stderr decoded as is."""
    r = run(*args, input=b"")
    r.stdout, r.stderr = r.stdout.decode(), r.stderr.decode()
    return r


def test_build_prints_what_docker_prints(engine, repo, tmp_path):
    ctx = write_context(tmp_path / "ctx", dict(BASIC, f=f"data {repo}\n"))
    r = raw(engine.cli, "build", "-t", f"{repo}:a", str(ctx))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert re.match(r"Sending build context to Docker daemon  3\.072kB\r\r\nStep 1/6 : FROM busybox\n ---> [0-9a-f]{12}\n",
                    r.stdout)
    assert "\nStep 3/6 : RUN echo out; echo err >&2\n" in r.stdout
    assert re.search(r"Step 4/6 : COPY f /f\n ---> [0-9a-f]{12}\n", r.stdout)
    assert re.search(r"\nSuccessfully built [0-9a-f]{12}\nSuccessfully tagged " + re.escape(repo) + ":a\n$", r.stdout)
    assert run_in(engine, f"{repo}:a") == f"data {repo}\n"
    # A second build of the same context is all cache hits: now both CLIs print the very same bytes.
    mine = raw(engine.cli, "build", "-t", f"{repo}:a", str(ctx))
    theirs = raw(engine.docker, "build", "-t", f"{repo}:a", str(ctx))
    assert theirs.returncode == 0, theirs.stderr
    assert (mine.returncode, mine.stdout, mine.stderr) == (0, theirs.stdout, theirs.stderr)
    assert mine.stdout.count(" ---> Using cache\n") == 5


def test_build_quiet_iidfile_and_alias(engine, repo, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": f"FROM busybox\nRUN echo {repo} > /id\n"})
    iid = tmp_path / "iid"
    r = engine.cli("image", "build", "-q", "--iidfile", str(iid), "-t", repo, str(ctx))
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", r.stdout)
    assert iid.read_text() == r.stdout  # with -q the docker CLI writes its quiet output there
    assert inspect(engine, repo)["Id"] == r.stdout.strip()
    d = engine.docker("build", "-q", "-t", repo, str(ctx))
    assert (r.stdout, r.stderr) == (d.stdout, d.stderr)
    r = engine.cli("build", "--iidfile", str(iid), "-t", repo, str(ctx))
    assert iid.read_text() == inspect(engine, repo)["Id"]  # the aux ID, no newline
    assert run_in(engine, repo, "cat", "/id") == f"{repo}\n"


def test_build_args_labels_target_and_tags(engine, repo, tmp_path, monkeypatch):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox AS base\nARG FROM_ENV\nARG GIVEN=default\nARG UNSET=kept\n"
        "RUN echo \"$GIVEN $FROM_ENV $UNSET\" > /args\n"
        "FROM base AS final\nRUN echo final > /final\n")})
    monkeypatch.setenv("FROM_ENV", f"env-{repo}")
    r = engine.cli("build", "--build-arg", "GIVEN=given", "--build-arg", "FROM_ENV", "--build-arg", "UNSET",
                   "--label", "a=1", "--label", "b", "--target", "base", "-t", f"{repo}:base", "-t", f"{repo}:two",
                   str(ctx))
    assert r.returncode == 0, r.stderr
    assert f"Successfully tagged {repo}:base\nSuccessfully tagged {repo}:two\n" in r.stdout
    assert run_in(engine, f"{repo}:base", "cat", "/args") == f"given env-{repo} kept\n"
    assert run_in(engine, f"{repo}:base", "ls", "/") .split().count("final") == 0
    labels = inspect(engine, f"{repo}:base")["Config"]["Labels"]
    assert labels == {"a": "1", "b": ""}
    assert inspect(engine, f"{repo}:two")["Id"] == inspect(engine, f"{repo}:base")["Id"]


def test_build_dockerfile_outside_the_context_from_stdin_and_stdin_contexts(engine, repo, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"a": f"a {repo}\n", ".dockerignore": "*.log\n", "x.log": "log\n"})
    outside = write_context(tmp_path / "elsewhere", {"Dockerfile.dev": "FROM busybox\nCOPY . /ctx/\n"})
    r = engine.cli("build", "-q", "-f", str(outside / "Dockerfile.dev"), "-t", f"{repo}:out", str(ctx))
    assert r.returncode == 0, r.stderr
    # the random-named Dockerfile is dropped by the daemon, *.log by the CLI; the .dockerignore only
    # lists the random name, so it stays (it is excluded only when the CLI had to create it)
    assert run_in(engine, f"{repo}:out", "ls", "-A", "/ctx") == ".dockerignore\na\n"
    r = engine.cli("build", "-q", "-f", "-", "-t", f"{repo}:stdin", str(ctx),
                   input=b"FROM busybox\nCOPY a /a\n")
    assert r.returncode == 0, r.stderr
    assert run_in(engine, f"{repo}:stdin", "cat", "/a") == f"a {repo}\n"
    r = engine.cli("build", "-q", "-t", f"{repo}:df", "-", input=f"FROM busybox\nRUN echo {repo} > /x\n".encode())
    assert r.returncode == 0, r.stderr
    assert run_in(engine, f"{repo}:df", "cat", "/x") == f"{repo}\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in (("sub/Df", b"FROM busybox\nCOPY b /b\n"), ("b", f"b {repo}\n".encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    r = engine.cli("build", "-q", "-f", "sub/Df", "-t", f"{repo}:tar", "-", input=buf.getvalue())
    assert r.returncode == 0, r.stderr
    assert run_in(engine, f"{repo}:tar", "cat", "/b") == f"b {repo}\n"


def test_build_context_filtering_matches_docker(engine, repo, tmp_path):
    """The same context built by both CLIs gives the same files, modes, owners and links in the image."""
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nCOPY . /ctx/\n",
        ".dockerignore": "vendor\n!vendor/keep\n**/*.tmp\nDockerfile\n",
        "bin/tool": "#!/bin/sh\necho tool\n", "vendor/keep/k": "k", "vendor/drop/d": "d",
        "deep/a.tmp": "t", "deep/b.txt": repo,
    })
    (ctx / "bin/tool").chmod(0o755)
    (ctx / "link").symlink_to("bin/tool")
    listing = "cd /ctx && find . | sort | while read f; do stat -c '%n %A %u:%g %N' \"$f\"; done"
    mine = engine.cli("build", "-q", "-t", f"{repo}:mine", str(ctx))
    theirs = engine.docker("build", "-q", "-t", f"{repo}:theirs", str(ctx))
    assert (mine.returncode, theirs.returncode) == (0, 0), (mine.stderr, theirs.stderr)
    assert mine.stdout == theirs.stdout  # the same context tar: the same cache key, the same image
    out = run_in(engine, f"{repo}:mine", "sh", "-c", listing)
    assert out == run_in(engine, f"{repo}:theirs", "sh", "-c", listing)
    names = [line.split()[0] for line in out.splitlines()]
    assert names == [".", "./.dockerignore", "./bin", "./bin/tool", "./deep", "./deep/b.txt", "./link",
                     "./vendor", "./vendor/keep", "./vendor/keep/k"]
    assert "./bin/tool -rwxr-xr-x 0:0" in out and "'./link' -> 'bin/tool'" in out


def test_build_failure_exit_status_and_message(engine, repo, tmp_path):
    marker = uuid.uuid4().hex
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": f"FROM busybox\nRUN echo {marker}\nRUN exit 3\n"})
    results = []
    for cli in (engine.cli, engine.docker, engine.cli):
        r = cli("build", "--force-rm", str(ctx))
        results.append(r)
        assert r.returncode == 3, r.stderr
        assert r.stderr == "The command '/bin/sh -c exit 3' returned a non-zero code: 3\n"
    # the first run made step 2; the other two find it in the cache and print the same
    assert HEX12.sub("X", results[1].stdout) == HEX12.sub("X", results[2].stdout)
    assert " ---> Using cache\n" in results[2].stdout
    engine.cli("rmi", step_image(results[2].stdout, 2))  # the image of step 2, left behind by the failed builds
    r = raw(engine.cli, "build", "-q", "--force-rm", str(ctx))
    assert (r.returncode, r.stdout) == (3, "")
    assert r.stderr.endswith("The command '/bin/sh -c exit 3' returned a non-zero code: 3\n")
    # with -q what was held back goes to stderr (the daemon streams it all when a step fails)
    assert r.stderr.startswith("Sending build context to Docker daemon  2.048kB\r\r\nStep 1/3 : FROM busybox\n")
    assert "Step 3/3 : RUN exit 3\n" in r.stderr
    engine.cli("rmi", step_image(r.stderr, 2))


@pytest.mark.parametrize("dockerfile", [
    "FROM busybox\nRUNN x\n",
    "FROM busybox\nCOPY missing /x\n",
    "FROM busybox AS a\nRUN true\n",  # with --target nope
])
def test_build_daemon_errors_match_docker(engine, tmp_path, dockerfile):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": dockerfile})
    extra = ["--target", "nope"] if "AS a" in dockerfile else []
    r = engine.cli("build", "--force-rm", *extra, str(ctx))
    d = engine.docker("build", "--force-rm", *extra, str(ctx))
    assert (r.returncode, r.stderr) == (d.returncode, d.stderr)
    assert HEX12.sub("X", r.stdout) == HEX12.sub("X", d.stdout)
    assert r.returncode == 1


@pytest.mark.parametrize("args", [["nosuchdir"], ["-f", "nope", "."], ["{file}"], ["-f", "-", "-"],
                                  ["-t", "BAD", "."]])
def test_build_client_errors_match_docker(engine, tmp_path, args, monkeypatch):
    write_context(tmp_path, {"file": "x"})
    monkeypatch.chdir(tmp_path)
    args = [a.replace("{file}", str(tmp_path / "file")) for a in args]
    r = engine.cli("build", *args)
    d = engine.docker("build", *args)
    assert (r.returncode, r.stdout) == (d.returncode, d.stdout)
    assert r.stderr == d.stderr.replace("docker build", "dockyard build")
