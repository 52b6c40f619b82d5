"""`ecgwb bench train`: training throughput (samples/s) of the AE backbones.

Forward + backward + Adam step at batch 64 on real median beats of the demo data (the
input content does not change the speed; real beats keep the numbers honest anyway), on
the CPU and, where one is available, on the GPU (fp32 and bf16 autocast). Each setting
is timed after warm-up steps, in the same process, one after the other.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

#: backbone → (model overrides, input leads, samples) as the seeds use them.
SETTINGS = {
    "small (001), 12 × 400, latent 10": ({"backbone": "small", "latent_dim": 10}, 12, 400),
    "kors000 (000), 3 × 375, latent 30": ({"backbone": "kors000", "latent_dim": 30}, 3, 375),
}


def _batch(leads: int, samples: int, batch: int) -> torch.Tensor:
    from ecgcore.data.cache import preprocess
    from ecgcore.data.store import ECGCache
    from ecgcore.signal.kors import kors_xyz

    demo = Path(__file__).resolve().parents[2] / "assets" / "demo" / "ptbxl100"
    cache_dir = Path.home() / ".cache" / "ecgwb" / "bench_demo_r400"
    preprocess(demo, cache_dir, progress=False)
    x = np.asarray(ECGCache(cache_dir).median[:batch], dtype=np.float32)
    if leads == 3:
        x = kors_xyz(x)
    x = np.nan_to_num(x[..., :samples]) / np.abs(x).max()
    return torch.from_numpy(np.ascontiguousarray(x))


def throughput(model: torch.nn.Module, x: torch.Tensor, device: str, steps: int, warmup: int,
               bf16: bool = False) -> float:
    model = model.to(device).train()
    x = x.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step() -> None:
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
            loss = model.loss(x)["total"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return steps * x.shape[0] / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ecgwb bench train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per setting")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--model", default="beta_vae", help="registered AE-family model")
    args = ap.parse_args(argv)

    from ecgcore.models import count_parameters, create_model

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
          + (f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"))
    print(f"\n{'backbone':<36}{'params':>10}{'device':>8}{'precision':>11}{'samples/s':>12}")
    for label, (overrides, leads, samples) in SETTINGS.items():
        x = _batch(leads, samples, args.batch)
        for device in devices:
            for bf16 in ([False, True] if device == "cuda" else [False]):
                torch.manual_seed(0)
                model = create_model(args.model, input_shape=(leads, samples), **overrides)
                rate = throughput(model, x, device, args.steps, args.warmup, bf16)
                print(f"{label:<36}{count_parameters(model) / 1e6:>9.2f}M{device:>8}"
                      f"{'bf16' if bf16 else 'fp32':>11}{rate:>12.0f}", flush=True)
    return 0
