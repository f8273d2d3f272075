"""Benchmark the workflow's simulations against a per-replica loop and the random-number floor.

Usage, from the repository root::

    python3 tests/benchmarks/benchmark.py              # ours, the loop and the floor
    python3 tests/benchmarks/benchmark.py --scaling    # how our simulate's time grows
    python3 tests/benchmarks/benchmark.py --dag        # Snakemake's DAG build time
    python3 tests/benchmarks/benchmark.py --profile    # where our simulate's time goes
    python3 tests/benchmarks/benchmark.py --all --output benchmarks.md

For each case of `cases.CASES` the comparison measures, on this machine and
in one run:

1. our simulate: the model's `sgd_dyson.models.Model.simulate`, the code the
   ``simulate`` rule runs, with the settings the workflow builds for that point;
2. a per-replica reference loop (`reference_loops`), timed on a few replicas
   and scaled linearly to all of them;
3. the floor (`rng_floor`): only the random draws of our simulate, or, for
   the network, which draws few, only the matrix products of its steps.

It also checks, on a small version of each case, that the loop agrees with
our simulate in distribution and that the floor draws the same numbers (or
multiplies the same arrays).

Every measurement runs in a fresh subprocess (``--part``) with
single-threaded BLAS, so that peak memories do not mix and one
measurement's caches do not help the next. This process only orchestrates
and writes the Markdown report; it never loads NumPy.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cases import (
    CASES,
    DAG_GRIDS,
    DAG_MAXIMUM_SECONDS,
    MAXIMUM_PEAK_MB,
    SCALING_AXES,
    Case,
    dag_config,
)

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[1]
PACKAGE_ROOT = REPOSITORY / "workflow"
SNAKEFILE = REPOSITORY / "Snakefile"
DAG_FLOOR = HERE / "dag_floor.smk"
"""Snakemake alone on the workflow's per-point jobs: the floor of the DAG build time."""

SINGLE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""BLAS settings of every measuring subprocess: the workflow runs one job per core."""

PARTS = (
    "ours",
    "loop",
    "floor",
    "check",
    "sgd_ratio",
    "samplers",
    "scaling",
    "machine",
    "profile",
)


def log(message: str) -> None:
    """Progress, on stderr: stdout carries the report (and a subprocess's JSON)."""
    print(message, file=sys.stderr, flush=True)


# --- One measurement in a subprocess ----------------------------------------------------


def run_part(arguments: argparse.Namespace) -> dict:
    """Do one measurement in this process (the subprocess side of `measure`)."""
    if any(os.environ.get(name) != value for name, value in SINGLE_THREAD.items()):
        # BLAS reads these when NumPy loads: restart this process with them set.
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **SINGLE_THREAD})
    sys.path.insert(0, str(PACKAGE_ROOT))  # the workflow's package, without an install step
    import measurements  # only now: it loads NumPy and sgd_dyson

    if arguments.part == "machine":
        return measurements.machine()
    if arguments.part == "scaling":
        return measurements.scaling(arguments.axis)
    case = arguments.case[0]  # the other parts measure one case
    if arguments.part == "loop":
        return measurements.loop(case, arguments.loop_replicas)
    part = {
        "ours": measurements.ours,
        "floor": measurements.floor,
        "check": measurements.check,
        "profile": measurements.profile,
        "sgd_ratio": measurements.sgd_ratio,
        "samplers": measurements.gibbs_samplers,
    }
    return part[arguments.part](case)


def measure(part: str, **options) -> dict:
    """Run ``benchmark.py --part PART`` in a fresh subprocess; its JSON result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--part", part]
    for name, value in options.items():
        if value is not None:
            command += [f"--{name.replace('_', '-')}", str(value)]
    result = subprocess.run(
        command, env={**os.environ, **SINGLE_THREAD}, stdout=subprocess.PIPE, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed (exit {result.returncode})")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- The sections -----------------------------------------------------------------------


def compare(case_names: list[str], loop_replicas: int | None) -> list[dict]:
    """Our simulate, the loop, the floor and the checks of each case."""
    results = []
    for name in case_names:
        result = {"case": name}
        for part in ("ours", "loop", "floor", "check"):
            log(f"{name}: {part} …")
            options = {"loop_replicas": loop_replicas} if part == "loop" else {}
            result[part] = measure(part, case=name, **options)
        if CASES[name].sgd_baseline is not None:
            log(f"{name}: against plain SGD …")
            result["sgd_ratio"] = measure("sgd_ratio", case=name)
        if CASES[name].sampler_comparisons:
            log(f"{name}: samplers …")
            result["samplers"] = measure("samplers", case=name)
        results.append(result)
    return results


def scale() -> list[dict]:
    """Our simulate's time along each scaling axis."""
    results = []
    for axis in SCALING_AXES:
        log(f"scaling: {axis} …")
        results.append(measure("scaling", axis=axis))
    return results


def children_cpu_seconds() -> float:
    """User and system seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_dry_run(arguments: list[str], timeout: float) -> dict:
    """Wall and CPU seconds of ``snakemake --dry-run --quiet`` with ``arguments`` (None: stopped).

    The CPU time is the run's user and system time: on a machine shared with other
    work the wall time grows with the load, the CPU time much less.
    """
    command = [sys.executable, "-m", "snakemake", "--dry-run", "--quiet", *arguments]
    start, cpu_start = time.perf_counter(), children_cpu_seconds()
    try:
        result = subprocess.run(
            command,
            env={**os.environ, **SINGLE_THREAD},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "cpu_seconds": None}
    seconds, cpu_seconds = time.perf_counter() - start, children_cpu_seconds() - cpu_start
    if result.returncode != 0:
        raise RuntimeError(f"snakemake --dry-run failed:\n{result.stderr[-3000:]}")
    return {"seconds": seconds, "cpu_seconds": cpu_seconds}


def time_dag(points: int, timeout: float) -> dict:
    """Dry runs of the workflow for a generated config of ``points`` sweep points, and of the
    floor (`DAG_FLOOR`: Snakemake alone on the same per-point jobs), each in an empty folder."""
    result = {"points": points, "timeout": timeout}
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "config.json"  # Snakemake reads JSON configs as they are
        config.write_text(json.dumps(dag_config(points)))
        arguments = ["--snakefile", str(SNAKEFILE), "--configfile", str(config)]
        result["workflow"] = time_dry_run([*arguments, "--directory", directory], timeout)
    with tempfile.TemporaryDirectory() as directory:
        arguments = ["--snakefile", str(DAG_FLOOR), "--config", f"points={points}"]
        result["floor"] = time_dry_run([*arguments, "--directory", directory], timeout)
    return result


def time_dags(timeout: float) -> list[dict]:
    results = []
    for points in DAG_GRIDS:
        log(f"dag: {points} sweep points …")
        results.append(time_dag(points, timeout))
    return results


def profiles(case_names: list[str]) -> list[dict]:
    """cProfile of our simulate on each case."""
    results = []
    for name in case_names:
        log(f"{name}: profile …")
        results.append({"case": name, **measure("profile", case=name)})
    return results


# --- Markdown ---------------------------------------------------------------------------


def rate(value: float) -> str:
    """A rate with a unit prefix, e.g. ``2.41 M``."""
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= factor:
            return f"{value / factor:.3g} {prefix}"
    return f"{value:.3g}"


def table(header: list[str], rows: list[list]) -> str:
    """A Markdown table; a ``|`` inside a cell (as in |B|) is escaped."""

    def line(cells: list) -> str:
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header), *(line(row) for row in rows)])


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def commit() -> str:
    """The checked-out commit, read from .git (no git command: this must not touch the index)."""
    git = REPOSITORY / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:12]  # a detached HEAD is the commit itself
        ref = head.removeprefix("ref: ")
        if (git / ref).exists():
            return (git / ref).read_text().strip()[:12]
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(f" {ref}"):
                return line.split()[0][:12]
    except OSError:
        pass
    return "unknown"


def machine_section(numpy_info: dict) -> str:
    rows = [
        ["code", f"sgd_dyson {numpy_info['sgd_dyson']} at commit {commit()} (plus any edits)"],
        ["CPU", cpu_model()],
        ["cores", f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable)"],
        ["OS", platform.platform()],
        ["Python", platform.python_version()],
        ["NumPy", numpy_info["numpy"]],
        ["BLAS", numpy_info["blas"]],
        ["BLAS threads", ", ".join(f"{k}={v}" for k, v in SINGLE_THREAD.items())],
    ]
    note = (
        "Every measurement runs in its own subprocess with single-threaded BLAS "
        "(the settings above), as the workflow runs its simulations: one job per core."
    )
    return f"## Machine\n\n{table(['', 'value'], rows)}\n\n{note}"


def comparison_section(results: list[dict]) -> str:
    rows, notes = [], []
    for result in results:
        case = CASES[result["case"]]
        ours, loop, floor = result["ours"], result["loop"], result["floor"]
        ours_rate = ours["replica_steps"] / ours["seconds"]
        loop_rate = loop["replica_steps"] / loop["seconds"]
        floor_rate = floor["replica_steps"] / floor["seconds"]
        rows.append(
            [
                case.title,
                f"{ours['replicas']} × {ours['steps']}",
                f"{ours['seconds']:.2f}",
                rate(ours_rate),
                rate(loop_rate),
                rate(floor_rate),
                f"{ours_rate / loop_rate:.0f}×",
                f"{ours['seconds'] / floor['seconds']:.1f}",
                f"{floor['numbers'] / floor['replica_steps']:.3g}",
                f"{ours['peak_rss_mb']:.0f} ({ours['rss_before_mb']:.0f})",
            ]
        )
        full_loop = ours["replica_steps"] / loop_rate
        notes.append(
            f"- {case.title}: the loop ran {loop['replicas']} of {ours['replicas']} replicas "
            f"({loop['seconds']:.1f} s), scaled linearly (each replica is trained on its own): "
            f"about {full_loop:.0f} s for all of them; our simulate ran all "
            f"({ours['diverged_replicas']} diverged). Fastest of {ours['calls']} (ours), "
            f"{loop['calls']} (loop), {floor['calls']} (floor) calls."
        )
    header = [
        "case",
        "replicas × steps",
        "ours (s)",
        "ours (replica-steps/s)",
        "loop (replica-steps/s)",
        "floor (replica-steps/s)",
        "speed-up ours/loop",
        "ours time / floor time",
        "random numbers per replica-step",
        "peak RSS of ours, MB (before simulate)",
    ]
    checks = "\n\n".join(check_section(result) for result in results)
    targets = targets_section(results)
    return (
        "## Our simulate, a per-replica loop and the floor\n\n"
        "- **ours**: `sgd_dyson.models.MODELS[model].simulate(settings)` with the settings "
        "the workflow builds for the point (`validate_config`, `stages.sweep.experiment_table`, "
        "`stages.simulate.settings`), no checkpoint, in a fresh process;\n"
        "- **loop**: `reference_loops.py`, one replica and one step at a time, drawing the "
        "mini-batch samples and taking the per-sample gradient;\n"
        "- **floor**: `rng_floor.py`, only the random numbers our simulate draws (same PCG64 "
        "streams, counts, distributions and chunks); for the network, which draws few, only "
        "the batched matrix products of its steps, on the engine's own arrays at the case's "
        "replicas, into preallocated outputs;\n"
        "- the network's loop is the phase-diagram study's serial loop (`src/bin/generate.py` "
        "of github.com/chanjure/phase_ml): one seed at a time, each its own network and data, "
        "and per step the script's passes (labels, loss, gradient) in per-sample `einsum`s;\n"
        "- momentum and Adam: the loop's update is one replica's momentum buffer or "
        "bias-corrected moments, written out (`reference_loops.loop_optimizer`); their floor "
        "is plain SGD's (the optimisers draw no random numbers); their target compares our "
        "time with our plain SGD's at the same settings (the case of plain SGD at its "
        "settings), the two timed in one process in alternating calls;\n"
        "- peak RSS: `ru_maxrss` of the process that ran our simulate; in brackets, before it "
        "started (Python, NumPy, pandas, Snakemake's validator);\n"
        "- times: the fastest of repeated calls while they add up to under 2 s (at most 5), "
        "so a long call runs once.\n\n"
        + table(header, rows)
        + "\n\n"
        + "\n".join(notes)
        + "\n\n"
        + targets
        + samplers_section(results)
        + "\n\n### Consistency checks (small versions of the cases)\n\n"
        + checks
    )


def targets_section(results: list[dict]) -> str:
    """The performance targets of each case, measured, and whether they are met."""
    rows = []
    for result in results:
        case = CASES[result["case"]]
        ours, loop, floor = result["ours"], result["loop"], result["floor"]
        speed_up = (loop["seconds"] / loop["replica_steps"]) / (
            ours["seconds"] / ours["replica_steps"]
        )
        floor_ratio = ours["seconds"] / floor["seconds"]
        if case.minimum_speed_up is not None:
            met = speed_up >= case.minimum_speed_up
            rows.append(
                [
                    case.title,
                    f"speed-up over the loop ≥ {case.minimum_speed_up}×",
                    f"{speed_up:.0f}×",
                    "met" if met else "**not met**",
                ]
            )
        if case.maximum_floor_ratio is not None:
            met = floor_ratio <= case.maximum_floor_ratio
            rows.append(
                [
                    case.title,
                    f"time ≤ {case.maximum_floor_ratio}× the floor's",
                    f"{floor_ratio:.2f}×",
                    "met" if met else "**not met**",
                ]
            )
        if case.maximum_sgd_ratio is not None:
            rows.append(sgd_ratio_row(case, result["sgd_ratio"]))
        rows += sampler_target_rows(case, result.get("samplers"))
        met = ours["peak_rss_mb"] < MAXIMUM_PEAK_MB
        rows.append(
            [
                case.title,
                f"peak memory < {MAXIMUM_PEAK_MB} MB",
                f"{ours['peak_rss_mb']:.0f} MB",
                "met" if met else "**not met**",
            ]
        )
    return "### Targets\n\n" + table(["case", "target", "measured", ""], rows)


def sgd_ratio_row(case: Case, paired: dict) -> list[str]:
    """The target row of an optimiser case: its time over its plain-SGD twin's, timed in
    alternating calls (`measurements.sgd_ratio`)."""
    ratio = paired["seconds"] / paired["sgd_seconds"]
    return [
        case.title,
        f"time ≤ {case.maximum_sgd_ratio}× plain SGD's at the same settings",
        f"{ratio:.2f}× ({paired['seconds']:.3f} s / {paired['sgd_seconds']:.3f} s, "
        f"fastest of {paired['calls']} alternating calls each)",
        "met" if ratio <= case.maximum_sgd_ratio else "**not met**",
    ]


def with_sgd_baselines(case_names: list[str]) -> list[str]:
    """``case_names`` with every optimiser case's plain-SGD twin (`cases.plain_sgd_twin`)
    before it: the comparison shows the plain-SGD case its target is measured against."""
    chosen = []
    for name in case_names:
        baseline = CASES[name].sgd_baseline
        chosen += [baseline] if baseline is not None and baseline not in case_names else []
        chosen.append(name)
    return chosen


def sampler_target_rows(case, samplers: dict | None) -> list[list]:
    """Targets rows of the sampler comparison: the transition's speed-up at each |B|."""
    if samplers is None:
        return []
    return [
        [
            case.title,
            f"k-sweep transition ≥ {row['minimum_speed_up']}× sweep by sweep per update "
            f"at |B| = {row['batch_size']}",
            f"{row['speed_up']:.2f}×",
            "met" if row["speed_up"] >= row["minimum_speed_up"] else "**not met**",
        ]
        for row in samplers["rows"]
    ]


def samplers_section(results: list[dict]) -> str:
    """The RBM's update with each Gibbs sampler, timed in one process (`gibbs_samplers`)."""
    rows = [
        [
            CASES[result["case"]].title,
            row["batch_size"],
            f"{row['replicas']} × {row['steps']}",
            f"{1e3 * row['seconds']['sweeps'] / row['steps']:.3f}",
            f"{1e3 * row['seconds']['transition'] / row['steps']:.3f}",
            f"{row['speed_up']:.2f}×",
        ]
        for result in results
        if "samplers" in result
        for row in result["samplers"]["rows"]
    ]
    if not rows:
        return ""
    rounds = next(result["samplers"]["rounds"] for result in results if "samplers" in result)
    header = ["case", "|B|", "replicas × updates", "sweeps (ms/update)", "transition (ms/update)"]
    return (
        "\n\n### Gibbs samplers of the RBM (one process)\n\n"
        "The case's point with `gibbs_sampler: sweeps` (2k|B|n normals per update) and "
        "`transition` (the k sweeps drawn exactly in one step: |B|n normals and one "
        "Cholesky factorisation per replica), the whole simulate over its updates, final "
        f"snapshot only; the two alternate and the fastest of {rounds} rounds counts.\n\n"
        + table([*header, "speed-up"], rows)
    )


def check_section(result: dict) -> str:
    check, case = result["check"], CASES[result["case"]]
    groups = check["groups"]
    if groups == "dataset draws":  # replicas of a draw share their data: not independent
        groups = f"the means of the {check['dataset_draws']} dataset draws"
    verdict = "agree" if check["loop_agrees"] else "**DISAGREE**"
    rows = []
    for row in check["rows"]:
        rms_ours, rms_loop = (
            (row[f"{who}_msd"] ** 0.5, row[f"{who}_msd_se"] / (2 * row[f"{who}_msd"] ** 0.5))
            for who in ("ours", "loop")
        )
        rows.append(
            [
                row["level"],
                f"{row['ours_mean']:.5f} ± {row['ours_mean_se']:.5f}",
                f"{row['loop_mean']:.5f} ± {row['loop_mean_se']:.5f}",
                f"{row['z_mean']:+.2f}",
                f"{rms_ours[0]:.5f} ± {rms_ours[1]:.5f}",
                f"{rms_loop[0]:.5f} ± {rms_loop[1]:.5f}",
                f"{row['z_msd']:+.2f}",
            ]
        )
    header = ["level", "mean, ours", "mean, loop", "z", "RMS dev., ours", "RMS dev., loop", "z"]
    return (
        f"**{case.title}**, after {check['steps']} steps: {check['ours_replicas']} replicas of "
        f"ours, {check['loop_replicas']} of the loop; errors from the scatter of "
        f"{groups}; diverged: "
        f"{check['ours_diverged']} (ours), {check['loop_diverged']} (loop). Levels: "
        f"{check['observable']}, ascending; RMS deviation from the target level. "
        f"The loop and ours {verdict}: worst |z| = {check['worst_z']:.2f}, limit "
        f"{check['z_limit']:.2f} (4σ, Bonferroni over {2 * len(check['rows'])} comparisons). "
        f"{floor_sentence(check['floor'])}{update_rule_sentence(check.get('update_rule'))}\n\n"
        f"{table(header, rows)}"
    )


def floor_sentence(floor: dict) -> str:
    """What the check found of the floor: the same random numbers, or the same products."""
    verdict = "the same" if floor["matches"] else "**NOT the same**"
    if floor.get("kind") == "products":
        return (
            f"The floor's products are {verdict} as ours (its gradients against "
            "`networks.loss_and_gradients` of the linear network with zero labels: "
            f"largest relative difference {floor['relative_error']:.1e})."
        )
    counts = ", ".join(f"{n:,} {name}" for name, n in sorted(floor["ours_counts"].items()))
    return (
        f"The floor draws {verdict} numbers as ours (ours: {counts}; generator "
        f"states at the end {'equal' if floor['states_match'] else 'different'})."
    )


def update_rule_sentence(rule: dict | None) -> str:
    """What the check found of the loop's update rule against our optimiser's, if it ran."""
    if rule is None:
        return ""
    verdict = "the same as" if rule["matches"] else "**NOT the same as**"
    return (
        f" The loop's update rule ({rule['optimizer']}) is {verdict} ours: from the same "
        f"weights, on {rule['steps']} shared random gradients of {rule['replicas']} replicas, "
        f"largest relative difference {rule['relative_error']:.1e}."
    )


AXIS_TITLES = {"replicas": "replicas", "steps": "steps", "size": "N", "batch_size": "|B|"}


def scaling_section(results: list[dict]) -> str:
    parts = [
        "## Scaling of our simulate\n\n"
        "Online teacher–student (injected noise ε = 0.1, α = 0.1, W* = 2·I), final snapshot "
        "only, one process for each axis after a warm-up run; one setting varied at a time; "
        "the fastest of repeated calls while they add up to under 2 s (at most 5). "
        "|B| < N takes the per-sample path of `batch_second_moments`, |B| ≥ N the Bartlett one."
    ]
    for result in results:
        rows = []
        for row in result["rows"]:
            work = row["replicas"] * row["steps"]
            rows.append(
                [
                    row[result["axis"]],
                    row["replicas"],
                    row["steps"],
                    row["size"],
                    row["batch_size"],
                    f"{row['seconds']:.3f}",
                    rate(work / row["seconds"]),
                    f"{1e6 * row['seconds'] / work:.3f}",
                    f"{1e9 * row['seconds'] / (work * row['size'] ** 2):.2f}",
                ]
            )
        header = [
            f"**{AXIS_TITLES[result['axis']]}**",
            "replicas",
            "steps",
            "N",
            "|B|",
            "time (s)",
            "replica-steps/s",
            "µs per replica-step",
            "ns per replica-step and weight",
        ]
        parts.append(f"### Varying {AXIS_TITLES[result['axis']]}\n\n" + table(header, rows))
    return "\n\n".join(parts)


def dag_section(results: list[dict]) -> str:
    rows = []
    for result in results:
        grid = " × ".join(str(n) for n in DAG_GRIDS[result["points"]])
        stopped = f"> {result['timeout']:.0f} (stopped)"
        times = [
            f"{run[kind]:.1f}" if run[kind] is not None else (stopped if kind == "seconds" else "")
            for run in (result["workflow"], result["floor"])
            for kind in ("seconds", "cpu_seconds")
        ]
        rows.append([result["points"], grid, *times])
    return (
        "## Snakemake DAG build time\n\n"
        "`python3 -m snakemake --dry-run --quiet --snakefile Snakefile --configfile X "
        "--directory <empty temporary folder>` for a config with one online teacher–student "
        "experiment whose α × |B| × ε grid has the given number of points (`cases.dag_config`); "
        "wall time, including Snakemake's start-up, and the run's CPU time (user + system), "
        "which a loaded machine inflates less. The floor is `dag_floor.smk`: Snakemake alone "
        "on the same four script jobs per point (simulate, spectrum, fit, theory, one params "
        "function each), with none of the workflow's code, config, logs or resources.\n\n"
        + table(
            [
                "sweep points",
                "α × |B| × ε",
                "dry run (s)",
                "CPU (s)",
                "floor dry run (s)",
                "floor CPU (s)",
            ],
            rows,
        )
        + "\n\n"
        + dag_targets_section(results)
    )


def dag_targets_section(results: list[dict]) -> str:
    """The DAG build-time targets (`cases.DAG_MAXIMUM_SECONDS`), measured, and whether met."""
    rows = []
    for result in results:
        limit = DAG_MAXIMUM_SECONDS.get(result["points"])
        if limit is None:
            continue
        seconds, floor = result["workflow"]["seconds"], result["floor"]["seconds"]
        measured = f"{seconds:.1f} s" if seconds is not None else "stopped"
        met = seconds is not None and seconds < limit
        if not met and seconds is not None and floor is not None:
            measured += (
                f": missed by {seconds - limit:.1f} s. Snakemake alone takes {floor:.1f} s on "
                f"the same jobs (the floor), {'more' if floor >= limit else 'less'} than the "
                f"target; the workflow's own code adds {seconds - floor:.1f} s "
                f"({1e3 * (seconds - floor) / result['points']:.1f} ms per point)"
            )
        rows.append(
            [
                f"{result['points']} sweep points",
                f"dry run < {limit:g} s",
                measured,
                "met" if met else "**not met**",
            ]
        )
    return "### Targets\n\n" + table(["case", "target", "measured", ""], rows)


def profile_section(results: list[dict]) -> str:
    parts = [
        "## Where our simulate's time goes (cProfile, by own time)\n\n"
        "NumPy's random methods are Cython functions, which cProfile does not list: their "
        "time is the own time of their caller (e.g. `chain_normals` is the drawing of "
        "normals, `goe_matrices` and `batch_second_moments` include theirs). Matrix "
        "products written with `@` are likewise counted in the function that writes them."
    ]
    for result in results:
        parts.append(f"**{CASES[result['case']].title}**\n\n```\n{result['text'].strip()}\n```")
    return "\n\n".join(parts)


# --- Command line -----------------------------------------------------------------------


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", action="store_true", help="the three-model comparison")
    parser.add_argument("--scaling", action="store_true", help="our simulate's scaling tables")
    parser.add_argument("--dag", action="store_true", help="Snakemake DAG build times")
    parser.add_argument("--profile", action="store_true", help="cProfile of our simulate")
    parser.add_argument("--all", action="store_true", help="everything above")
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    parser.add_argument(
        "--case", action="append", choices=sorted(CASES), help="only this case (repeatable)"
    )
    parser.add_argument("--loop-replicas", type=int, help="replicas the loop is timed on")
    parser.add_argument(
        "--dag-timeout", type=float, default=1800.0, help="seconds before a dry run is stopped"
    )
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)  # subprocess side
    parser.add_argument("--axis", choices=sorted(SCALING_AXES), help=argparse.SUPPRESS)
    return parser.parse_args()


def report(arguments: argparse.Namespace) -> str:
    """Run the chosen sections and return the Markdown report."""
    started = time.perf_counter()
    chosen = arguments.compare or arguments.scaling or arguments.dag or arguments.profile
    everything = arguments.all
    case_names = with_sgd_baselines(arguments.case or list(CASES))
    sections = [machine_section(measure("machine"))]
    if everything or arguments.compare or not chosen:
        sections.append(comparison_section(compare(case_names, arguments.loop_replicas)))
    if everything or arguments.scaling:
        sections.append(scaling_section(scale()))
    if everything or arguments.dag:
        sections.append(dag_section(time_dags(arguments.dag_timeout)))
    if everything or arguments.profile:
        sections.append(profile_section(profiles(case_names)))
    command = " ".join(["python3", "tests/benchmarks/benchmark.py", *sys.argv[1:]])
    header = (
        "# Benchmarks\n\n"
        f"`{command}`, run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"took {time.perf_counter() - started:.0f} s."
    )
    return "\n\n".join([header, *sections]) + "\n"


def main() -> None:
    arguments = parse_arguments()
    if arguments.part:
        print(json.dumps(run_part(arguments)))
        return
    markdown = report(arguments)
    print(markdown)
    if arguments.output:
        arguments.output.write_text(markdown)
        log(f"written to {arguments.output}")


if __name__ == "__main__":
    main()
