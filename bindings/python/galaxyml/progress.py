"""Progress adapters for Context(progress=...)."""


class TqdmProgress:
    """Shows each stage of a long call as a tqdm bar:

        ctx = galaxyml.Context(progress=galaxyml.TqdmProgress())

    tqdm is imported when the first report arrives (it is not a
    dependency of the package). Never stops the call.
    """

    def __init__(self, **tqdm_kwargs):
        self._kwargs = tqdm_kwargs
        self._bar = None
        self._stage = None

    def __call__(self, p):
        if self._bar is None or p.stage != self._stage:
            from tqdm import tqdm

            self.close()
            self._stage = p.stage
            self._bar = tqdm(total=p.total or None, desc=p.stage, unit=p.unit or "it",
                             **self._kwargs)
        self._bar.n = p.done
        if p.metric_name:
            self._bar.set_postfix({p.metric_name: p.metric}, refresh=False)
        self._bar.refresh()
        if p.total and p.done >= p.total:
            self.close()
        return False

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
