"""A real single-node SLURM cluster for the tests: munged, slurmctld and slurmd, started as root.

Debian's ``slurm-wlm`` and ``munge`` packages provide the daemons (``.ci/run``
installs them). The cluster has no accounting database, so Snakemake's SLURM
executor runs with ``--slurm-status-command squeue --slurm-no-account``, and
``MinJobAge`` keeps finished jobs visible to ``squeue`` for ten minutes.

Jobs submitted by Snakemake drop every ``SLURM_*`` variable before calling
``srun``, so the configuration must sit where the SLURM commands look by
default, ``/etc/slurm/slurm.conf``. The cluster therefore refuses to start on
a machine that already has one, and removes the file it wrote when it stops.
"""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SYSTEM_CONFIG = Path("/etc/slurm/slurm.conf")
MUNGE_KEY = Path("/etc/munge/munge.key")
COMMANDS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo")


def unavailable_reason() -> str | None:
    """Why a test cluster cannot start on this machine, or None if it can."""
    missing = [command for command in COMMANDS if shutil.which(command) is None]
    if missing:
        return (
            f"SLURM is not installed ({', '.join(missing)} not found); "
            "`apt-get install slurm-wlm munge` provides it (.ci/run does)"
        )
    if os.geteuid() != 0:
        return "starting the SLURM daemons needs root"
    if SYSTEM_CONFIG.exists():
        return (
            f"{SYSTEM_CONFIG} exists: this machine runs its own SLURM, which the tests leave alone"
        )
    if not MUNGE_KEY.exists():
        return f"{MUNGE_KEY} is missing (the munge package creates it)"
    return None


def node_line() -> str:
    """This machine as a SLURM node (``slurmd -C``), with memory to spare for the system."""
    described = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True)
    fields = dict(item.split("=", 1) for item in described.stdout.splitlines()[0].split())
    memory = int(fields["RealMemory"]) * 3 // 4
    return (
        f"NodeName={fields['NodeName']} NodeAddr=127.0.0.1 CPUs={fields['CPUs']} "
        f"RealMemory={memory} State=UNKNOWN"
    )


def slurm_config(directory: Path, munge_socket: Path) -> str:
    node = node_line()
    controller = node.split()[0].removeprefix("NodeName=")
    return "\n".join(
        [
            "ClusterName=sgd-dyson-test",
            f"SlurmctldHost={controller}(127.0.0.1)",
            "SlurmctldPort=16817",
            "SlurmdPort=16818",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={munge_socket}",
            f"StateSaveLocation={directory / 'state'}",
            f"SlurmdSpoolDir={directory / 'spool'}",
            f"SlurmctldPidFile={directory / 'slurmctld.pid'}",
            f"SlurmdPidFile={directory / 'slurmd.pid'}",
            f"SlurmctldLogFile={directory / 'slurmctld.log'}",
            f"SlurmdLogFile={directory / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "SchedulerType=sched/backfill",
            "MpiDefault=none",
            "ReturnToService=2",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            # Finished jobs stay visible to squeue, the only status source here.
            "MinJobAge=600",
            # A job past its time limit gets SIGTERM, then SIGKILL 5 s later.
            "KillWait=5",
            "InactiveLimit=0",
            node,
            "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


def stop_daemon(pid_file: Path) -> None:
    """SIGTERM the daemon of ``pid_file``, SIGKILL it if it is still there after 10 s."""
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_until_idle(timeout: float = 60.0) -> None:
    """Wait for the node to accept jobs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
        if state.stdout.strip() == "idle":
            return
        time.sleep(0.5)
    raise RuntimeError(f"the SLURM node did not come up: sinfo says {state.stdout!r}")


@contextmanager
def single_node_cluster(directory: Path) -> Iterator[Path]:
    """Run munged, slurmctld and slurmd (state and logs in ``directory``) until the block ends.

    Yields ``directory``. On exit every job is cancelled, every daemon started
    here is stopped and ``/etc/slurm/slurm.conf`` is removed again.
    """
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    for name in ("state", "spool"):
        (directory / name).mkdir(parents=True, exist_ok=True)
    munge = pwd.getpwnam("munge")
    # munged insists that every directory above its socket is world-executable,
    # which pytest's temporary folders are not.
    munge_directory = Path(tempfile.mkdtemp(prefix="sgd-dyson-munge-"))
    munge_directory.chmod(0o755)
    os.chown(munge_directory, munge.pw_uid, munge.pw_gid)
    munge_socket = munge_directory / "socket"
    pid_files = [directory / "slurmd.pid", directory / "slurmctld.pid", munge_directory / "pid"]
    try:
        subprocess.run(
            [
                "runuser",
                "-u",
                "munge",
                "--",
                "munged",
                f"--socket={munge_socket}",
                f"--pid-file={munge_directory / 'pid'}",
                f"--log-file={munge_directory / 'log'}",
                f"--seed-file={munge_directory / 'seed'}",
            ],
            check=True,
        )
        SYSTEM_CONFIG.parent.mkdir(parents=True, exist_ok=True)
        SYSTEM_CONFIG.write_text(slurm_config(directory, munge_socket))
        subprocess.run(["slurmctld"], check=True)
        subprocess.run(["slurmd"], check=True)
        wait_until_idle()
        yield directory
    finally:
        subprocess.run(["scancel", "--full", "--user", "root"], capture_output=True)
        for pid_file in pid_files:
            stop_daemon(pid_file)
        SYSTEM_CONFIG.unlink(missing_ok=True)
        shutil.rmtree(munge_directory, ignore_errors=True)


def job_table() -> list[dict[str, str]]:
    """The jobs SLURM remembers: id, state, time limit, elapsed, CPUs, memory, name, comment."""
    fields = ["id", "state", "time_limit", "elapsed", "cpus", "memory", "name", "comment"]
    listing = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%T|%l|%M|%C|%m|%j|%k"],
        capture_output=True,
        text=True,
        env={**os.environ, "SLURM_CONF": str(SYSTEM_CONFIG)},
    )
    if listing.returncode != 0:
        raise RuntimeError(
            f"squeue failed ({SYSTEM_CONFIG} exists: {SYSTEM_CONFIG.exists()}): {listing.stderr}"
        )
    return [dict(zip(fields, line.split("|"), strict=True)) for line in listing.stdout.splitlines()]
