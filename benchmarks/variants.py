"""Which execution variant of the cut generator is fastest for inversion on this machine?

Times one objective evaluation (forward + input gradient) of B rows through the
DCGAN c=1 generator: the TorchScript artifact as loaded, the eager module,
channels-last tensors and weights, a frozen TorchScript graph, torch.compile,
and bf16 autocast (CUDA, or CPUs with AMX / AVX512-BF16). Medians over repeats, same process.

    python benchmarks/variants.py --weights weights/dcgan_faces.tar --rows 48
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from cache import cached_artifact

from gs.artifacts import load
from gs.models import load_generator
from gs.surgery import cut


def _time(fn, x: torch.Tensor, repeats: int, device: str) -> float:
    samples = []
    for i in range(repeats + 2):
        xi = x.detach().clone().requires_grad_(True)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn(xi)
        (grad,) = torch.autograd.grad(out.float().square().sum(), xi)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if i >= 2:  # the first calls include graph optimisation
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--rows", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true", help="Also try torch.compile.")
    args = parser.parse_args()
    art = load(cached_artifact(args.weights, 1), device=args.device)
    eager = cut(load_generator(args.weights, "dcgan").model, 1).to(args.device).eval()
    x = torch.randn(args.rows, 512, 4, 4, device=args.device)
    variants = {"torchscript artifact": art.generator, "eager": eager}
    cl = cut(load_generator(args.weights, "dcgan").model, 1).to(args.device)
    cl = cl.to(memory_format=torch.channels_last)
    variants["eager channels-last"] = lambda h: cl(h.contiguous(memory_format=torch.channels_last))
    frozen = torch.jit.freeze(torch.jit.trace(eager, (x,), check_trace=False))
    variants["frozen torchscript"] = frozen
    if args.compile:
        variants["torch.compile"] = torch.compile(eager)
    device_type = torch.device(args.device).type

    def bf16(h):
        with torch.autocast(device_type, dtype=torch.bfloat16):
            return art.generator(h)

    variants["torchscript + bf16 autocast"] = bf16
    print(f"device {args.device}, {torch.get_num_threads()} threads, rows {args.rows}")
    base = None
    for name, fn in variants.items():
        seconds = _time(fn, x, args.repeats, args.device)
        base = base or seconds
        print(f"{name:<28} {seconds * 1000:8.1f} ms/evaluation   x{base / seconds:.2f}")


if __name__ == "__main__":
    main()
