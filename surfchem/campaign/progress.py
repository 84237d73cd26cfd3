"""Progress inside long tasks: relaxations and optimiser steps read from the trajectory files.

A searched slab task runs for minutes (several starts, each a relaxation), so a bar that counts
tasks stands still. Every relaxation appends its frames to ``OUT/trajectories/<hash>[_s<k>].traj``
(:func:`surfchem.relax.relax`), so the driver can count them without talking to the workers.
"""

from __future__ import annotations

import time
from pathlib import Path

from ase.io.trajectory import Trajectory


class TrajectoryProgress:
    """Relaxations and optimiser steps of the current run, from a trajectory directory.

    Parameters
    ----------
    directory : str or pathlib.Path
        The campaign's trajectory directory (it may not exist yet).
    since : float, optional
        Count only files written at or after this time (s since the epoch); default now, so the
        relaxations of earlier runs are not counted.

    Examples
    --------
    >>> p = TrajectoryProgress("results/fig1/trajectories")  # doctest: +SKIP
    >>> p.poll()  # doctest: +SKIP
    (12, 843)
    """

    def __init__(self, directory: str | Path, since: float | None = None):
        self.directory = Path(directory)
        self.since = time.time() if since is None else float(since)
        self._frames: dict[str, tuple[int, int]] = {}  # name -> (file size, frames)

    def poll(self) -> tuple[int, int]:
        """(relaxations, optimiser steps) written since ``since``.

        Steps are frames minus the first frame of each relaxation; only files that grew since the
        last poll are read (ASE trajectories index their frames, so a read is cheap).
        """
        if not self.directory.is_dir():
            return 0, 0
        for path in self.directory.glob("*.traj"):
            try:
                st = path.stat()
            except OSError:  # removed or replaced meanwhile
                continue
            if st.st_mtime < self.since:
                continue
            old = self._frames.get(path.name)
            if old is not None and old[0] == st.st_size:
                continue
            try:
                with Trajectory(str(path)) as traj:
                    n = len(traj)
            except Exception:  # a frame being written: keep the last count
                continue
            self._frames[path.name] = (st.st_size, n)
        steps = sum(max(n - 1, 0) for _, n in self._frames.values())
        return len(self._frames), steps

    def label(self) -> str:
        """``"12 relaxations, 843 steps"`` for a progress bar."""
        n, steps = self.poll()
        return f"{n} relaxations, {steps} steps"
