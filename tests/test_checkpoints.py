"""In-job checkpoints: a killed simulation, restarted, gives the numbers of an uninterrupted one."""

from dataclasses import asdict, replace

import numpy as np
import pytest
from model_runs import DYSON as DYSON_BASE
from model_runs import GAUSSIAN_RBM as RBM_BASE
from model_runs import TEACHER_STUDENT as TS_BASE
from model_runs import model_of_run

from sgd_dyson.models import Model
from sgd_dyson.seeding import ReplicaStream, Stream
from sgd_dyson.simulation import Checkpoint


def run_of(base, **changes) -> tuple[Model, dict]:
    """``(model, settings)`` of a base run (`model_runs`) with ``changes``."""
    return model_of_run(base), asdict(replace(base, **changes))


TS_LONG = replace(TS_BASE, steps=300)  # long enough for three saves before the last chunk
RUNS = {
    # Shared datasets of several draws, replayed every 50-step epoch.
    "paper protocol": run_of(TS_LONG, dataset="paper", dataset_draws=3, snapshot_every=300),
    "label noise, hidden layer, N = 3": run_of(
        TS_LONG, teacher=(2.0, 2.0, 1.0), hidden=(1.5, 0.5, 1.0), noise_kind="label"
    ),
    # Many replicas diverge, at several chunk ends.
    "diverging replicas": run_of(TS_LONG, learning_rate=0.9, batch_size=1, replicas=300),
    "per-replica datasets": run_of(TS_LONG, dataset="per_replica"),
    "gaussian_rbm, some diverge": run_of(RBM_BASE, learning_rate=0.8, replicas=100, steps=300),
    "gaussian_rbm sweep by sweep, some diverge": run_of(
        RBM_BASE, gibbs_sampler="sweeps", learning_rate=0.8, replicas=100, steps=300
    ),
    "dyson": run_of(DYSON_BASE, time_step=0.05, steps=300, snapshot_every=50),
}


class JobKilledError(Exception):
    """Stands for the job being killed."""


class KilledAfterSaves(Checkpoint):
    """Saves at every chunk end; the job is killed one chunk after the ``saves``-th save.

    The chunk computed after the last save is lost with the job, as it would
    be in a real kill between two saves.
    """

    def __init__(self, path, saves: int):
        super().__init__(path, fingerprint="run", interval=0.0)
        self.saves_left = saves

    def save(self, arrays, meta):
        super().save(arrays, meta)
        self.saves_left -= 1

    def due(self) -> bool:
        if self.saves_left == 0:
            raise JobKilledError
        return True


def assert_same_snapshots(resumed, uninterrupted):
    np.testing.assert_array_equal(resumed.steps, uninterrupted.steps)
    np.testing.assert_array_equal(resumed.weights, uninterrupted.weights)
    np.testing.assert_array_equal(resumed.replica, uninterrupted.replica)
    np.testing.assert_array_equal(resumed.draw, uninterrupted.draw)
    assert resumed.diverged_replicas == uninterrupted.diverged_replicas
    assert resumed.first_divergence_step == uninterrupted.first_divergence_step


@pytest.mark.parametrize("saves", [1, 3])
@pytest.mark.parametrize("case", RUNS)
def test_a_killed_run_resumes_to_identical_snapshots(case, saves, tmp_path):
    model, settings = RUNS[case]
    path = tmp_path / "point.npz"
    with pytest.raises(JobKilledError):
        model.simulate(settings, KilledAfterSaves(path, saves))
    assert path.exists()
    resumed = model.simulate(settings, Checkpoint(path, fingerprint="run", interval=1e9))
    assert_same_snapshots(resumed, model.simulate(settings))


def test_the_cases_exercise_divergence_before_and_after_the_kill():
    """Divergence state must survive a checkpoint: the diverging cases diverge at several steps."""
    model, settings = RUNS["diverging replicas"]
    early = model.simulate(settings | dict(steps=50))
    late = model.simulate(settings)
    assert 0 < early.diverged_replicas < late.diverged_replicas < settings["replicas"]
    model, settings = RUNS["gaussian_rbm, some diverge"]
    assert 0 < model.simulate(settings).diverged_replicas < settings["replicas"]


def test_a_checkpoint_of_other_settings_is_ignored(tmp_path, caplog):
    model, settings = RUNS["dyson"]
    path = tmp_path / "point.npz"
    other = settings | dict(temperature=0.09)
    with pytest.raises(JobKilledError):
        model.simulate(other, KilledAfterSaves(path, 2))
    fresh = model.simulate(settings, Checkpoint(path, fingerprint="other run", interval=1e9))
    assert_same_snapshots(fresh, model.simulate(settings))
    assert "written for other settings" in caplog.text


def test_checkpoint_saves_are_rate_limited(tmp_path):
    checkpoint = Checkpoint(tmp_path / "point.npz", fingerprint="run", interval=3600.0)
    assert not checkpoint.due()
    checkpoint.save({"weights": np.zeros(3)}, {"step": 1})
    assert not checkpoint.due()
    arrays, meta = checkpoint.load()
    np.testing.assert_array_equal(arrays["weights"], np.zeros(3))
    assert meta == {"step": 1}
    checkpoint.remove()
    assert checkpoint.load() is None


def test_replica_stream_state_round_trips():
    """A stream restored from `get_state` continues exactly where the original was."""
    stream = ReplicaStream(1, 2, [300, 20], (Stream.NOISE, Stream.GIBBS))

    def draw(noise, gibbs, shape):
        return noise.standard_normal(shape) + gibbs.random(shape)

    stream.sample(draw, 5)
    state = stream.get_state()
    expected = stream.sample(draw, 7)
    restored = ReplicaStream(1, 2, [300, 20], (Stream.NOISE, Stream.GIBBS))
    restored.set_state(state)
    np.testing.assert_array_equal(restored.sample(draw, 7), expected)


def truncated_checkpoint(path, model, settings) -> bytes:
    """The first half of a real checkpoint of the run (a job killed while copying it)."""
    with pytest.raises(JobKilledError):
        model.simulate(settings, KilledAfterSaves(path, 2))
    return path.read_bytes()[: path.stat().st_size // 2]


DAMAGES = {
    "garbage": lambda path, model, settings: b"not a checkpoint at all",
    "empty": lambda path, model, settings: b"",
    "truncated": truncated_checkpoint,
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_an_unreadable_checkpoint_is_discarded_with_a_warning_and_the_run_starts_over(
    damage, tmp_path, caplog
):
    model, settings = RUNS["dyson"]
    path = tmp_path / "point.npz"
    path.write_bytes(damage(path, model, settings))
    fresh = model.simulate(settings, Checkpoint(path, fingerprint="run", interval=1e9))
    assert_same_snapshots(fresh, model.simulate(settings))
    assert f"discarding the checkpoint {path}: it cannot be read" in caplog.text
    assert "starting over" in caplog.text
    assert not path.exists()  # discarded, not read again at the next attempt
