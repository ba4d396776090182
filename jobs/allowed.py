"""The RQ job class a worker runs: only functions declared with ``core.base.jobs.job``
(rules: "Jobs and retries": whoever can write to Redis must not choose what a worker
runs)."""

from rq.job import Job as RQJob


class JobRefused(Exception):
    """A job named a function that is not one of ours; it was not run."""


def allowed_job(func_name) -> bool:
    """True when ``func_name`` names a declared job (``core.base.jobs.JOBS``, after
    importing every module that declares one)."""
    from core.base.jobs import load_jobs

    return isinstance(func_name, str) and func_name in load_jobs()


class AllowedJob(RQJob):
    """An RQ job that runs only a declared job and has no callbacks: anything else raises
    :class:`JobRefused` before any import of it, so the job goes to the failed registry
    with that reason."""

    def _execute(self):
        if not allowed_job(self.func_name) or self.instance is not None:
            raise JobRefused(f"{self.func_name!r} is not one of SISO Partners' jobs; it was "
                             "not run.")
        return super()._execute()

    # Our jobs have no callbacks; a callback named in a job's payload is never imported.
    @property
    def success_callback(self):
        return None

    @property
    def failure_callback(self):
        return None

    @property
    def stopped_callback(self):
        return None
