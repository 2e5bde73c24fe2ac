"""Design samplers: design points in the unit hypercube, seeded from the root seed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from experiments.sweeps.experiment_file import DesignSettings


def design_seed(root: int) -> int:
    """The seed of the design's sampler, apart from every run's seed."""
    state = np.random.SeedSequence(root, spawn_key=(0,)).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def sample_unit(design: DesignSettings, dims: int, root_seed: int) -> np.ndarray:
    """Design points in [0, 1]^dims, one row each (none: factorial enumerates)."""
    seed = design_seed(root_seed)
    if dims == 0 or design.kind == "factorial":
        return np.zeros((0, dims))
    problem = {
        "num_vars": dims,
        "names": [f"x{i}" for i in range(dims)],
        "bounds": [[0.0, 1.0]] * dims,
    }
    if design.kind == "lhs":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=dims, rng=np.random.default_rng(seed)).random(
            design.samples
        )
    if design.kind == "sobol":
        from SALib.sample import sobol

        return sobol.sample(
            problem,
            design.samples,
            calc_second_order=design.second_order,
            seed=seed % 2**32,
        )
    if design.kind == "morris":
        from SALib.sample import morris

        return morris.sample(
            problem, design.samples, num_levels=design.levels, seed=seed % 2**32
        )
    raise ValueError(f"unknown design {design.kind!r}")
