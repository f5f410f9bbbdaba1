"""``agency-sim slurm SPEC --out DIR --tasks N``: a ready submission script for Slurm.

The script submits a job array of N tasks, task I running ``agency-sim sweep SPEC --out DIR
--shard I/N`` with C worker processes, all into the same folder on the shared file system
(see runner.run_shard), then a compaction job that starts once every task has ended
(``--dependency=afterany``: also when some failed or ran out of time; compaction itself
refuses while a run is claimed by a live process). Submitting it again resumes: each task
skips the runs already done and takes over the claims of tasks that died.

Each step is started with ``srun --cpus-per-task=C`` explicitly: since Slurm 22.05 srun no
longer inherits ``--cpus-per-task`` from sbatch, and a step given only its default of one CPU
would run its C workers on that one CPU.

A shard started while the compaction job holds the folder's lock (a task requeued or submitted
again after the compaction began) exits 2 with a message saying so; submit it again afterwards.

The commands call the Python that printed the script (``sys.executable -m experiments.cli``),
so the compute nodes must see the same environment at the same path (a virtual environment
on the shared file system, as clusters usually have it).
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

MAX_ARRAY_SIZE = 1001  # Slurm's default MaxArraySize (array indices 0-1000); sites often keep it
MEM = re.compile(r"^[1-9]\d*[KMGT]?$")  # sbatch --mem: a size, default unit megabytes

_TIME_FORMS = "MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"


def time_seconds(value: str) -> int:
    """Slurm's time limit ``value`` in seconds: the forms ``MM``, ``MM:SS``, ``HH:MM:SS``,
    ``D-HH``, ``D-HH:MM`` and ``D-HH:MM:SS`` (minutes and seconds below 60 where a larger unit
    precedes them, hours below 24 after a day); ValueError for anything else, or a zero limit."""
    if not isinstance(value, str) or not re.fullmatch(r"(\d+-)?\d+(:\d+){0,2}", value):
        raise ValueError(f"{value!r} is not a Slurm time ({_TIME_FORMS})")
    days, _, rest = value.rpartition("-")
    parts = [int(x) for x in rest.split(":")]
    if days:
        hours, minutes, seconds = (parts + [0, 0])[:3]
        if hours > 23 or minutes > 59 or seconds > 59:
            raise ValueError(f"{value!r} is not a Slurm time: hours 0-23, minutes and seconds 0-59 after a day")
        total = ((int(days) * 24 + hours) * 60 + minutes) * 60 + seconds
    else:
        if len(parts) == 1:
            hours, minutes, seconds = 0, parts[0], 0
        elif len(parts) == 2:
            hours, (minutes, seconds) = 0, parts
        else:
            hours, minutes, seconds = parts
        if seconds > 59 or (len(parts) == 3 and minutes > 59):
            raise ValueError(f"{value!r} is not a Slurm time: minutes and seconds 0-59 after a larger unit")
        total = (hours * 60 + minutes) * 60 + seconds
    if total <= 0:
        raise ValueError(f"{value!r} is a zero time limit")
    return total


def slurm_script(
    spec_path: str | Path,
    out: str | Path,
    tasks: int,
    *,
    name: str,
    time: str = "04:00:00",
    cpus: int = 1,
    partition: str | None = None,
    account: str | None = None,
    compact_time: str = "04:00:00",
    compact_mem: str = "8G",
    throttle: int | None = None,
    python: str | None = None,
) -> str:
    """The text of the submission script (bash), paths made absolute."""
    if not isinstance(tasks, int) or isinstance(tasks, bool) or tasks < 1:
        raise ValueError(f"--tasks must be a whole number >= 1, got {tasks!r}")
    if not isinstance(cpus, int) or isinstance(cpus, bool) or cpus < 1:
        raise ValueError(f"--cpus must be a whole number >= 1, got {cpus!r}")
    for label, value in (("--time", time), ("--compact-time", compact_time)):
        try:
            time_seconds(value)
        except ValueError as exc:
            raise ValueError(f"{label} {value!r} is invalid: {exc}; e.g. 04:00:00") from None
    if not isinstance(compact_mem, str) or not MEM.match(compact_mem):
        raise ValueError(f"--compact-mem {compact_mem!r} is invalid: a size such as 8G, 500M or 16000 (megabytes)")
    if throttle is not None and (not isinstance(throttle, int) or isinstance(throttle, bool) or throttle < 1):
        raise ValueError(f"--throttle must be a whole number >= 1, got {throttle!r}")
    for label, value in (("--partition", partition), ("--account", account)):
        if value is not None and not re.match(r"^[A-Za-z0-9_.,+-]+$", value):
            raise ValueError(f"{label} {value!r} is invalid: letters, digits and _ . , + - only")
    spec_path = Path(spec_path).resolve()
    out = Path(out).resolve()
    logs = out.with_name(out.name + "-slurm")
    job = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:40] or "sweep"
    q = shlex.quote
    cli = f"{q(python or sys.executable)} -m experiments.cli"
    common = [f"--time={time}"]
    if partition:
        common.append(f"--partition={partition}")
    if account:
        common.append(f"--account={account}")
    array_opts = " ".join(
        [
            "--parsable",
            f"--job-name={job}",
            f"--array=1-{tasks}" + (f"%{throttle}" if throttle else ""),
            "--ntasks=1",
            f"--cpus-per-task={cpus}",
            *common,
            f"--output={q(str(logs / '%A_%a.out'))}",
        ]
    )
    compact_opts = " ".join(
        [
            "--parsable",
            f"--job-name={job}-compact",
            '--dependency="afterany:${array_job}"',
            "--ntasks=1",
            "--cpus-per-task=1",
            f"--mem={compact_mem}",
            f"--time={compact_time}",
            *common[1:],
            f"--output={q(str(logs / '%j-compact.out'))}",
        ]
    )
    return f"""#!/bin/bash
# Generated by `agency-sim slurm`: the sweep {q(str(spec_path))}
# as a job array of {tasks} task(s) ({cpus} worker process(es) each) writing into one folder,
#   {out}
# then one job that compacts the folder once every task has ended (afterany).
# Submit it from a login node:   bash THIS_FILE
# It prints the two job ids; `{cli} sweep --status {q(str(out))}` shows the progress.
# Submitting it again resumes: each task skips the runs already done.
set -euo pipefail
mkdir -p {q(str(logs))}

array_job=$(sbatch {array_opts} <<'TASK'
#!/bin/bash
# task I of the array runs shard I/{tasks}: the runs with run_id % {tasks} == I - 1
srun --ntasks=1 --cpus-per-task={cpus} {cli} sweep {q(str(spec_path))} --out {q(str(out))} \\
    --shard "${{SLURM_ARRAY_TASK_ID}}/{tasks}" --executor processes --workers {cpus}
TASK
)
array_job=${{array_job%%;*}}

compact_job=$(sbatch {compact_opts} <<'TASK'
#!/bin/bash
srun --ntasks=1 --cpus-per-task=1 {cli} sweep --compact {q(str(out))}
TASK
)
echo "submitted the array as job ${{array_job}} and the compaction as job ${{compact_job%%;*}}"
"""
