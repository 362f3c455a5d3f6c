"""The SLURM profile (workflow/profiles/slurm) against a real single-node SLURM.

When the session reaches this module, a thread installs Debian's slurm-wlm daemons and
munge when they are missing (as root, through apt-get), starts a private cluster on
localhost (munged, slurmctld and slurmd with a slurm.conf generated in a temporary folder:
own ports, own munge socket, no accounting database, no cgroups), and builds the tiny
configuration in a temporary copy of the repository with `--executor slurm` through the
profile (SecondBuild). The same-bytes test runs last and waits for it: every result and
the zip must be the same bytes as the session's local build (`snakemake --cores 2`, the
`finished` fixture of tests/conftest.py). That is also the suite's check that a second
clean build gives the same bytes: where no cluster can be started (not root, no apt-get)
the second build runs locally instead. The daemons are stopped when the session ends,
whatever happened.
"""

import getpass
import hashlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from built import InBackground, result_digests

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
TINY = "tests/workflow/config_tiny.yaml"
PROFILE = "workflow/profiles/slurm"
SLURM_PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
SLURM_TOOLS = ["munged", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "scancel", "sinfo"]
# Clients that get a wrapper pointing them at the test cluster's slurm.conf.
SLURM_CLIENTS = ["sbatch", "srun", "squeue", "scancel", "sinfo", "scontrol", "sacct", "sacctmgr", "sshare"]
SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])

BUILD_TIMEOUT = 900  # seconds for one build of the tiny config
APT_TIMEOUT = 600
START_TIMEOUT = 60


def which(tool: str) -> str | None:
    return shutil.which(tool, path=SBIN_PATH)


def run(cmd, *, timeout: float, log: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run `cmd` in its own process group; on timeout kill the whole group and fail."""
    out = open(log, "w") if log else subprocess.PIPE
    try:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, start_new_session=True, **kwargs
        )
        try:
            stdout, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            tail = log.read_text()[-5000:] if log else ""
            pytest.fail(f"{' '.join(map(str, cmd))} did not finish in {timeout} s\n{tail}")
    finally:
        if log:
            out.close()
    return subprocess.CompletedProcess(cmd, proc.returncode, log.read_text() if log else stdout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_repo(dest: Path) -> Path:
    """Copy what git would commit (tracked and untracked-but-not-ignored files) to `dest`."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT, capture_output=True, check=True, timeout=60,
        ).stdout.decode()
        names = [n for n in listing.split("\0") if n]
    except (OSError, subprocess.SubprocessError):
        skip = {"results", ".snakemake", ".venv", ".git", ".pytest_cache", "__pycache__"}
        names = [
            str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
        ]
    for name in names:
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / "results").mkdir(exist_ok=True)
    return dest


def require_plugin() -> None:
    if not SNAKEMAKE.exists():
        pytest.skip(f"no snakemake next to {sys.executable}")
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.skip(
            f"snakemake-executor-plugin-slurm is not installed in {sys.prefix} "
            "(it comes with requirements.txt: bash workflow/setup.sh)"
        )


def ensure_slurm_installed() -> float | None:
    """Install the daemons and clients with apt-get when missing; the seconds it took, or None."""
    missing = [t for t in SLURM_TOOLS if which(t) is None]
    if not missing:
        return None
    if shutil.which("apt-get") is None:
        pytest.skip(
            f"SLURM is not installed ({', '.join(missing)} missing) and there is no apt-get "
            f"to install Debian's {' '.join(SLURM_PACKAGES)}"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    start = time.perf_counter()
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "--no-install-recommends"]
    for cmd in (["apt-get", "update", "-qq"], [*install, *SLURM_PACKAGES]):
        proc = run(cmd, timeout=APT_TIMEOUT, env=env)
        if proc.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed:\n{proc.stdout[-5000:]}")
    missing = [t for t in SLURM_TOOLS if which(t) is None]
    if missing:
        pytest.fail(f"after apt-get install, still missing: {', '.join(missing)}")
    return time.perf_counter() - start


class LocalSlurm:
    """A private single-node SLURM cluster on localhost, everything under `base`."""

    def __init__(self, base: Path):
        self.base = base
        self.conf = base / "slurm.conf"
        self.bin = base / "bin"
        self.logs = base / "log"
        self.munge_socket = base / "munge" / "munge.socket"
        self.daemons: dict[str, subprocess.Popen] = {}
        self.node = socket.gethostname().split(".")[0] or "localhost"
        self.cpus = os.cpu_count() or 1
        self.memory_mb = 0
        self.install_s: float | None = None

    # -- configuration -------------------------------------------------------
    def node_line(self) -> str:
        """The node as slurmd sees its hardware (`slurmd -C`), so it registers without a mismatch."""
        out = subprocess.run([which("slurmd"), "-C"], capture_output=True, text=True, timeout=30).stdout
        fields = dict(re.findall(r"(\w+)=(\S+)", out.splitlines()[0] if out else ""))
        fields.pop("NodeName", None)
        fields.pop("UpTime", None)
        if "CPUs" not in fields or "RealMemory" not in fields:
            meminfo = Path("/proc/meminfo").read_text()
            fields = {"CPUs": str(self.cpus), "RealMemory": str(int(re.search(r"MemTotal:\s+(\d+)", meminfo)[1]) // 1024)}
        self.cpus, self.memory_mb = int(fields["CPUs"]), int(fields["RealMemory"])
        attrs = " ".join(f"{k}={v}" for k, v in fields.items())
        return f"NodeName={self.node} NodeAddr=127.0.0.1 NodeHostname={self.node} {attrs} State=UNKNOWN"

    def write_config(self) -> None:
        for d in ("state", "spool", "log", "munge", "bin"):
            (self.base / d).mkdir(parents=True, exist_ok=True)
        user = getpass.getuser()
        self.conf.write_text(
            f"""# Single-node test cluster: no accounting, no cgroups.
ClusterName=snaketest
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={self.base / "state"}
SlurmdSpoolDir={self.base / "spool"}
SlurmctldPidFile={self.base / "slurmctld.pid"}
SlurmdPidFile={self.base / "slurmd.pid"}
SlurmctldLogFile={self.logs / "slurmctld.log"}
SlurmdLogFile={self.logs / "slurmd.log"}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
ReturnToService=2
# squeue reports finished jobs for this long: the plugin's squeue status needs it.
MinJobAge=600
{self.node_line()}
PartitionName=test Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
"""
        )
        # The plugin's job step drops SLURM_* variables (SLURM_CONF too) before
        # its nested srun; wrappers on PATH point every client at this cluster.
        for client in SLURM_CLIENTS:
            real = which(client)
            if real:
                wrapper = self.bin / client
                wrapper.write_text(f"#!/bin/sh\nSLURM_CONF='{self.conf}' exec '{real}' \"$@\"\n")
                wrapper.chmod(0o755)

    @property
    def env(self) -> dict:
        """Environment of a process that talks to this cluster."""
        return dict(os.environ, SLURM_CONF=str(self.conf), PATH=f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}")

    # -- daemons -------------------------------------------------------------
    def _start(self, name: str, cmd: list) -> None:
        out = open(self.logs / f"{name}.out", "w")
        self.daemons[name] = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env, start_new_session=True
        )
        out.close()

    def _wait(self, what: str, ready) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for name, proc in self.daemons.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with status {proc.returncode}\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"{what} not ready after {START_TIMEOUT} s\n{self.log_tail()}")

    def start(self) -> None:
        self.write_config()
        key = self.base / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        (self.base / "munge").chmod(0o700)
        munge_dir = self.base / "munge"
        self._start("munged", [
            which("munged"), "--foreground", "--force", f"--socket={self.munge_socket}", f"--key-file={key}",
            f"--pid-file={munge_dir / 'munged.pid'}", f"--seed-file={munge_dir / 'munged.seed'}",
            f"--log-file={self.logs / 'munged.log'}",
        ])
        self._wait("munged", self.munge_socket.exists)
        self._start("slurmctld", [which("slurmctld"), "-D", "-f", str(self.conf)])
        self._start("slurmd", [which("slurmd"), "-D", "-f", str(self.conf), "-N", self.node])
        self._wait("the node", lambda: self.query(["sinfo", "--noheader", "--format=%T"]).strip() == "idle")

    def query(self, cmd: list) -> str:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=self.env)
        return proc.stdout if proc.returncode == 0 else ""

    def stop(self) -> None:
        """Cancel what is left in the queue, then stop slurmd, slurmctld and munged."""
        if self.daemons.get("slurmctld") and self.daemons["slurmctld"].poll() is None:
            try:
                jobs = self.query(["squeue", "--noheader", "--format=%A", "--states=PENDING,RUNNING,COMPLETING"]).split()
                if jobs:
                    subprocess.run(["scancel", *jobs], timeout=30, env=self.env, capture_output=True)
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline and self.query(
                        ["squeue", "--noheader", "--format=%A", "--states=PENDING,RUNNING,COMPLETING"]
                    ).split():
                        time.sleep(1)
            except (OSError, subprocess.SubprocessError):
                pass
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.daemons.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def log_tail(self, n: int = 3000) -> str:
        parts = []
        for path in sorted(self.logs.glob("*")):
            text = path.read_text(errors="replace")
            if text.strip():
                parts.append(f"--- {path.name}\n{text[-n:]}")
        return "\n".join(parts)


class NoCluster(Exception):
    """Why no test cluster can be started here (the build then runs locally)."""


def slurm_or_reason(base: Path):
    """A started LocalSlurm under `base`, or a NoCluster with the reason (not root, no apt-get, no plugin)."""
    if not SNAKEMAKE.exists() or importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return NoCluster("snakemake-executor-plugin-slurm is not installed (bash workflow/setup.sh installs it)")
    if os.geteuid() != 0:
        return NoCluster("starting slurmctld and slurmd for a test cluster needs root")
    try:
        install_s = ensure_slurm_installed()
    except pytest.skip.Exception as why:
        return NoCluster(str(why))
    cluster = LocalSlurm(base)
    cluster.install_s = install_s
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


class SecondBuild:
    """The second clean build of the same-bytes test, run in a thread from the moment the session
    reaches this module: most of its time is waiting (apt-get, the daemons' start, the plugin's
    status polling), so the rest of the suite runs meanwhile. The test itself runs last (marker
    `runs_last`, tests/conftest.py) and waits for it."""

    def __init__(self, base: Path):
        self.base = base
        self.slurm: LocalSlurm | NoCluster | None = None
        self.repo = base / "second"
        self.build_s = 0.0
        self.background = InBackground("second clean build", self._build)

    @property
    def on_slurm(self) -> bool:
        return isinstance(self.slurm, LocalSlurm)

    def command(self) -> list:
        if not self.on_slurm:
            return [SNAKEMAKE, "--cores", "2", "--configfile", TINY]
        return [
            SNAKEMAKE, "--workflow-profile", PROFILE, "--configfile", TINY,
            # The test cluster has no accounting: status from squeue, no account.
            "--slurm-status-command", "squeue", "--slurm-no-account",
            # The plugin asks for job states this many seconds after a round that saw a job finish
            # (10 s more after each round that saw none): a private cluster answers at once.
            "--slurm-init-seconds-before-status-checks", "1",
            # Keep every request within the one node.
            "--max-threads", str(self.slurm.cpus),
        ]

    def _build(self, background: InBackground) -> subprocess.CompletedProcess:
        self.slurm = slurm_or_reason(self.base / "slurm")
        copy_repo(self.repo)
        command, log, start = self.command(), self.base / "second.log", time.perf_counter()
        returncode = background.run(command, self.repo, log, snakemake_env(self.slurm.env if self.on_slurm else None))
        self.build_s = time.perf_counter() - start
        return subprocess.CompletedProcess(command, returncode, log.read_text())

    def wait(self) -> subprocess.CompletedProcess:
        """The build's result, once it has finished (failing after APT_TIMEOUT + BUILD_TIMEOUT s)."""
        return self.background.wait(APT_TIMEOUT + BUILD_TIMEOUT)

    def stop(self) -> None:
        """Kill a build still running (an interrupted session) and stop the cluster's daemons."""
        self.background.stop()
        if self.on_slurm:
            self.slurm.stop()


SAME_BYTES_TEST = "test_a_second_clean_build_through_slurm_gives_the_same_bytes"


@pytest.fixture(scope="session", autouse=True)
def second_build(request, tmp_path_factory):
    """Starts the second build when the session reaches this module, if the same-bytes test is selected."""
    if not any(item.name == SAME_BYTES_TEST for item in request.session.items):
        yield None
        return
    build = SecondBuild(tmp_path_factory.mktemp("second-build"))
    try:
        yield build
    finally:
        build.stop()


def snakemake_env(base: dict | None = None) -> dict:
    return dict(base or os.environ, PYTHONDONTWRITEBYTECODE="1")


def profile() -> dict:
    return yaml.safe_load((ROOT / PROFILE / "config.yaml").read_text())


def test_profile_names_existing_rules(tmp_path):
    """A renamed rule would silently lose its cluster resources: every name in set-resources must be a rule."""
    require_plugin()
    repo = copy_repo(tmp_path / "repo")
    proc = run([SNAKEMAKE, "--list-rules", "--configfile", TINY], cwd=repo, timeout=300, env=snakemake_env())
    assert proc.returncode == 0, proc.stdout[-5000:]
    rules = set(proc.stdout.split())
    unknown = set(profile().get("set-resources", {})) - rules
    assert not unknown, f"{PROFILE}/config.yaml sets resources of rules that do not exist: {sorted(unknown)}"


def test_dry_run_with_the_slurm_profile(tmp_path):
    """The profile parses and plans the whole build (`snakemake -n`, no cluster needed)."""
    require_plugin()
    repo = copy_repo(tmp_path / "repo")
    proc = run(
        [SNAKEMAKE, "-n", "--workflow-profile", PROFILE, "--configfile", TINY],
        cwd=repo, timeout=300, env=snakemake_env(),
    )
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert "Job stats:" in proc.stdout and "check_submission" in proc.stdout, proc.stdout[-5000:]


@pytest.mark.runs_last
def test_a_second_clean_build_through_slurm_gives_the_same_bytes(second_build, finished, capsys):
    """A clean build in another folder, at another time, matches the session's local build
    (`snakemake --cores 2`, tests/conftest.py) byte for byte: every result and the zip. It goes
    through SLURM where a test cluster can be started (as root, with Debian's packages); else it
    runs locally and says why, so the same-bytes check never depends on SLURM. The build ran in
    the background while the rest of the suite did (SecondBuild)."""
    proc = second_build.wait()
    slurm, second, on_slurm = second_build.slurm, second_build.repo, second_build.on_slurm
    net_id = yaml.safe_load((finished / TINY).read_text())["student"]["net_id"]
    assert proc.returncode == 0, f"the second build failed:\n{proc.stdout[-6000:]}\n" + (slurm.log_tail() if on_slurm else "")

    if on_slurm:
        submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*?/rule_(\w+)/", proc.stdout)
        rules_on_slurm = sorted({rule for _, rule in submitted})
        assert "sample" in rules_on_slurm, f"no job went through SLURM:\n{proc.stdout[-6000:]}"
        assert "pdf" not in rules_on_slurm, "pdf is a local rule: it needs TeX where snakemake runs"
        how = f"SLURM build {second_build.build_s:.1f} s ({len(submitted)} jobs through sbatch: {', '.join(rules_on_slurm)})"
    else:
        how = f"local build {second_build.build_s:.1f} s (no SLURM test cluster: {slurm})"
    local_sum, second_sum = (sha256(repo / "results" / f"{net_id}.zip") for repo in (finished, second))
    with capsys.disabled():
        if on_slurm and slurm.install_s is not None:
            print(f"\nSLURM test: apt-get installed {' '.join(SLURM_PACKAGES)} in {slurm.install_s:.0f} s", end="")
        print(f"\nsecond clean build: {how}\n  first  {local_sum}  {net_id}.zip\n  second {second_sum}  {net_id}.zip")
    first, again = result_digests(finished), result_digests(second)
    assert f"{net_id}.zip" in first and "theory.pdf" in first and first.keys() == again.keys()
    assert {k for k in first if first[k] != again[k]} == set(), "results whose bytes differ between the two builds"
