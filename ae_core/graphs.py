"""The training step as one CUDA graph: forward, loss, backward and the fused optimizer step replayed in one launch.

At the tutorial's batch size these models are bound by kernel launches, not arithmetic (bench/gpu.py): an eager step
launches a few dozen small kernels from Python, a replayed graph launches them all at once. The batch itself (indexing
the resident images, drawing the noise from the run's generator) stays eager, outside the graph, so a captured run
draws exactly the numbers an eager run draws, and its losses match an eager run's within float rounding.

Used only on CUDA, for full batches of a run whose learning rate is constant (a scheduler's new rate or momentum
would not reach the fused kernel's captured arguments); everything else takes `engine.step` unchanged.
"""

from __future__ import annotations

import torch

WARMUP_STEPS = 3  # eager steps on a side stream before capture, as torch.cuda.graphs requires (cuDNN/cuBLAS set-up)


def usable(device: torch.device, sched: object | None) -> bool:
    """Whether a run on `device` with scheduler `sched` may capture its step."""
    return device.type == "cuda" and sched is None and torch.cuda.is_available()


class CapturedStep:
    """Callable like `engine.step(loop, idx)`: the batch's summed loss, still on the device. Captures on the first full
    batch after the warm-up, then replays; a short batch (an epoch's last) runs eagerly on the same weights and
    optimizer state."""

    def __init__(self, loop, eager) -> None:
        # loop: an engine.Loop (not imported: engine imports this module); eager: engine.update(loop, x, target)
        self.loop, self.eager = loop, eager
        self.warm = 0  # eager warm-up steps done
        self.graph: torch.cuda.CUDAGraph | None = None
        self.x = self.target = self.loss = None  # static buffers the graph reads and writes

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        x, target = self.loop.batch(idx)  # eager: the generator draws exactly as in an eager run
        if len(idx) != self.loop.batch_size:
            return self.eager(self.loop, x, target).detach() * len(idx)
        if self.graph is None:
            if self.warm < WARMUP_STEPS:
                self.warm += 1
                return self._on_side_stream(x, target)
            self._capture(x, target)
        else:
            self.x.copy_(x)
            self.target.copy_(target)
        self.graph.replay()
        return self.loss * len(idx)  # a new tensor: the next replay overwrites self.loss

    def _on_side_stream(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        side = torch.cuda.Stream(self.loop.device)
        side.wait_stream(torch.cuda.current_stream(self.loop.device))
        with torch.cuda.stream(side):
            loss = self.eager(self.loop, x, target).detach() * len(x)
        torch.cuda.current_stream(self.loop.device).wait_stream(side)
        return loss

    def _capture(self, x: torch.Tensor, target: torch.Tensor) -> None:
        self.x, self.target = x.clone(), target.clone()  # (B, 1, 28, 28) each; fixed addresses for the graph
        self.loop.opt.zero_grad(set_to_none=True)  # backward then allocates .grad from the graph's private pool
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.loss = self.eager(self.loop, self.x, self.target).detach()  # () static: the batch's mean loss
        self.graph = graph  # capture records without running: the caller replays this batch next
