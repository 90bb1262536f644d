"""Adaptive batching: run cheap models inline, merge concurrent requests for costly ones.

For a model whose `session.run` takes microseconds, any hand-off costs more than the inference
(performance.md: the HTTP layer is ~97% of the latency), so while the measured cost of a call
stays under `inline_threshold`, requests run inline on the event loop, unbatched. Above it,
requests go to a queue that one drain task empties into a single worker thread (onnxruntime
releases the GIL; its own intra-op threads do the parallel work). Requests that arrive while a
batch runs are merged into the next `session.run`, up to `max_batch_size` rows. The drain task
also waits up to `max_latency` for more rows, but only while load is concurrent (the previous
batch merged more than one request), so a lone client never pays the window.
Merging is along the first (batch) dimension, only between requests whose other dimensions and
dtypes agree; onnxruntime gives the same rows the same results in any batch (tested).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from modelplane_runtime.errors import ModelNotReady
from modelplane_runtime.metrics import RuntimeMetrics
from modelplane_runtime.model import OnnxModel

Tensors = dict[str, np.ndarray]
_EWMA = 0.2


@dataclass(slots=True)
class _Item:
    inputs: Tensors
    rows: int
    key: tuple[object, ...]
    future: asyncio.Future[Tensors]
    enqueued: float = field(default_factory=time.perf_counter)


class AdaptiveBatcher:
    """Runs predictions inline or batched, whichever the measured cost says pays."""

    def __init__(
        self,
        model: OnnxModel,
        metrics: RuntimeMetrics,
        *,
        max_batch_size: int,
        max_latency_s: float,
        inline_threshold_s: float,
    ) -> None:
        self._model = model
        self._metrics = metrics
        self._max_rows = max_batch_size
        self._max_latency = max_latency_s
        self._inline_threshold = inline_threshold_s
        self._merge = model.batchable and max_batch_size > 1
        self._cost = 0.0
        """EWMA of the seconds one `session.run` takes."""
        self._queue: deque[_Item] = deque()
        self._queued_rows = 0
        self._arrived = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self._last_batch_requests = 1
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self._closed = False

    async def predict(self, inputs: Tensors, rows: int) -> Tensors:
        """Outputs for one request's inputs (`rows` along the batch dimension)."""
        if self._closed:
            raise ModelNotReady("the server is shutting down")
        if self._cost < self._inline_threshold and not self._queue:
            return self._run(inputs, rows, 1)
        if not self._merge:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self._run, inputs, rows, 1)
        key = tuple((name, a.shape[1:], a.dtype.str) for name, a in inputs.items())
        item = _Item(inputs, rows, key, asyncio.get_running_loop().create_future())
        self._queue.append(item)
        self._queued_rows += rows
        self._arrived.set()
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await item.future

    def _run(self, inputs: Tensors, rows: int, requests: int, record: bool = True) -> Tensors:
        start = time.perf_counter()
        outputs = self._model.predict(inputs)
        elapsed = time.perf_counter() - start
        self._cost += _EWMA * (elapsed - self._cost)
        self._metrics.count_run(elapsed, rows, requests)
        if record:
            self._metrics.count_predictions(outputs)
        return outputs

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            if self._max_latency > 0 and self._last_batch_requests > 1:
                await self._wait_for_rows(self._queue[0].enqueued + self._max_latency)
            batch = self._take()
            self._last_batch_requests = len(batch)
            try:
                if len(batch) == 1:
                    item = batch[0]
                    outputs = await loop.run_in_executor(
                        self._executor, self._run, item.inputs, item.rows, 1
                    )
                    _resolve(item, outputs)
                else:
                    await self._run_merged(batch, loop)
            except Exception as exc:  # handed to the waiting request, which reports it
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)

    async def _wait_for_rows(self, deadline: float) -> None:
        while self._queued_rows < self._max_rows:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return

    def _take(self) -> list[_Item]:
        first = self._queue.popleft()
        batch, rows, skipped = [first], first.rows, []
        while self._queue and rows < self._max_rows:
            item = self._queue.popleft()
            if item.key == first.key and rows + item.rows <= self._max_rows:
                batch.append(item)
                rows += item.rows
            else:
                skipped.append(item)
        self._queue.extendleft(reversed(skipped))
        self._queued_rows -= rows
        return batch

    async def _run_merged(self, batch: list[_Item], loop: asyncio.AbstractEventLoop) -> None:
        merged = {
            name: np.concatenate([item.inputs[name] for item in batch]) for name in batch[0].inputs
        }
        total = sum(item.rows for item in batch)
        try:
            outputs = await loop.run_in_executor(
                self._executor, self._run, merged, total, len(batch), False
            )
        except Exception:  # one bad request must not fail the others: run them one by one
            outputs = None
        if outputs is None or any(o.shape[:1] != (total,) for o in outputs.values()):
            for item in batch:
                try:
                    _resolve(
                        item,
                        await loop.run_in_executor(
                            self._executor, self._run, item.inputs, item.rows, 1
                        ),
                    )
                except Exception as exc:  # reported to that request only
                    if not item.future.done():
                        item.future.set_exception(exc)
            return
        # recorded only now: rows re-run one by one above are recorded by their own runs
        self._metrics.count_predictions(outputs)
        start = 0
        for item in batch:
            stop = start + item.rows
            _resolve(item, {name: out[start:stop] for name, out in outputs.items()})
            start = stop

    async def close(self) -> None:
        """Finish every queued request, then stop the worker thread."""
        self._closed = True
        if self._drainer is not None:
            await self._drainer
        self._executor.shutdown(wait=True)


def _resolve(item: _Item, outputs: Tensors) -> None:
    if not item.future.done():  # the request may have been cancelled (client went away)
        item.future.set_result(outputs)
