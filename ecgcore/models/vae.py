"""One autoencoder class for the whole AE/VAE family; the config decides the variant.

``ae``: deterministic (no logvar head, no sampling, no KL). Every other variant is
stochastic and differs only by its β schedule (``config.beta_schedule()``): SAE β = 0,
VAE β = 1, β-VAE constant β, cyclical / annealed β-VAEs a schedule object.
The encoder/decoder pair is composed in (built from ``config.backbone`` by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from .backbones import build_backbone, he_init
from .configs import AEConfig
from .losses import vae_loss, wave_weight_mask
from .pca_path import PCAPath
from .protocol import Encoding, ModelOutput

LOGVAR_RANGE = (-30.0, 20.0)  # keeps exp(logvar) finite early in training
PCA_START_LOGVAR = -8.0  # σ ≈ 0.02 of a whitened unit's SD


class VAE(nn.Module):
    """Autoencoder over ``[B, leads, samples]`` with a ``latent_dim`` code.

    The encoder gives features; ``to_mean`` / ``to_logvar`` (linear) give the posterior.
    ``encode`` is deterministic (mean and σ); ``forward`` samples z in training mode for
    stochastic variants (``sample=`` overrides); ``loss`` returns the named terms.
    """

    def __init__(
        self,
        config: AEConfig,
        encoder: nn.Module | None = None,
        decoder: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if (encoder is None) != (decoder is None):
            raise ValueError(
                "pass both encoder and decoder, or neither (built from config.backbone)"
            )
        if encoder is None:
            encoder, decoder = build_backbone(
                config.backbone, config.input_shape, config.latent_dim
            )
        self.config = config
        self.encoder = encoder
        self.decoder = decoder
        feats = int(encoder.out_features)
        self.to_mean = nn.Linear(feats, config.latent_dim)
        self.to_logvar = nn.Linear(feats, config.latent_dim) if config.stochastic else None
        he_init(self.to_mean)
        if self.to_logvar is not None:
            he_init(self.to_logvar)
        self.schedule = config.beta_schedule()
        self.pca_path: PCAPath | None = None
        if config.pca_init:
            self.pca_path = PCAPath(self.input_shape, config.latent_dim)
            self.gates = nn.Parameter(torch.zeros(2))  # encoder, decoder correction
            if self.to_logvar is not None:  # start with a narrow posterior around the PCA score
                nn.init.zeros_(self.to_logvar.weight)
                nn.init.constant_(self.to_logvar.bias, PCA_START_LOGVAR)

    # -- protocol -------------------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def input_shape(self) -> tuple[int, int]:
        return tuple(self.config.input_shape)  # type: ignore[return-value]

    @property
    def stochastic(self) -> bool:
        return self.to_logvar is not None

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mean, logvar) [B, latent_dim]; logvar is None for a deterministic model."""
        h = self.encoder(x)
        mean = self.to_mean(h)
        if self.pca_path is not None:
            mean = self.pca_path.encode(x) + self.gates[0] * mean
        if self.to_logvar is None:
            return mean, None
        return mean, self.to_logvar(h).clamp(*LOGVAR_RANGE)

    def encode(self, x: torch.Tensor) -> Encoding:
        mean, logvar = self.posterior(x)
        return Encoding(mean, None if logvar is None else torch.exp(0.5 * logvar))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"decode expects z [batch, {self.latent_dim}], got {list(z.shape)}")
        return self._decode(z)

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        x_hat = self.decoder(z)
        if self.pca_path is not None:
            x_hat = self.pca_path.decode(z) + self.gates[1] * x_hat
        return x_hat

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x).mean)

    # -- training -------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, *, sample: bool | None = None) -> ModelOutput:
        mean, logvar = self.posterior(x)
        z = self._sample(mean, logvar, self.training if sample is None else sample)
        return ModelOutput(x_hat=self._decode(z), z=z, mean=mean, logvar=logvar)

    @staticmethod
    def _sample(mean: torch.Tensor, logvar: torch.Tensor | None, sample: bool) -> torch.Tensor:
        if logvar is None or not sample:
            return mean
        return mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)

    def beta_at(self, *, step: int = 0, epoch: int = 0) -> float:
        """β of the KL term at this point of training (0 for a deterministic model)."""
        return self.schedule.at(step=step, epoch=epoch) if self.stochastic else 0.0

    def loss_weights(
        self, x: torch.Tensor, weights: torch.Tensor | None = None, fiducials: Any = None
    ) -> torch.Tensor | None:
        """Reconstruction weights: given ``weights``, else the wave mask from ``fiducials``
        with this config's θ (None when either is missing: unweighted)."""
        if weights is not None or fiducials is None or self.config.wave_weights is None:
            return weights
        return wave_weight_mask(
            fiducials, x.shape[-1], device=x.device, **self.config.wave_weights.model_dump()
        )

    def loss(
        self,
        x: torch.Tensor,
        *,
        weights: torch.Tensor | None = None,
        fiducials: Any = None,
        target: torch.Tensor | None = None,
        extra: torch.Tensor | None = None,
        step: int = 0,
        epoch: int = 0,
    ) -> dict[str, torch.Tensor]:
        """Forward ``x`` and return {recon, kl, beta, task, total}.

        ``target``/``extra`` are used by task models only and ignored here, so a trainer
        can pass a whole batch to any family.
        """
        out = self._train_forward(x, extra)
        return vae_loss(
            x,
            out.x_hat,
            out.mean,
            out.logvar,
            beta=self.beta_at(step=step, epoch=epoch),
            weights=self.loss_weights(x, weights, fiducials),
            reduction=self.config.recon_reduction,
            sigma=self.config.recon_sigma,
            recon_loss=self.config.recon_loss,
            **self._task_terms(out, target),
        )

    def _train_forward(self, x: torch.Tensor, extra: torch.Tensor | None) -> ModelOutput:
        return self(x)

    def _task_terms(self, out: ModelOutput, target: torch.Tensor | None) -> dict[str, Any]:
        return {}

    def fc_weights(self) -> Iterator[nn.Parameter]:
        """Weights of the fully connected layers of the backbone and latent heads."""
        for part in (self.encoder, self.decoder, self.to_mean, self.to_logvar):
            if part is None:
                continue
            for m in part.modules():
                if isinstance(m, nn.Linear):
                    yield m.weight

    def parameter_groups(self, weight_decay: float = 0.0) -> list[dict[str, Any]]:
        """Optimiser parameter groups carrying the backbone's ``fc_weight_decay``.

        ``fc_weight_decay`` λ is a Keras-style L2 penalty λ·‖W‖² on the fully connected
        weights (seed 000: 0.01). With ``torch.optim.Adam`` (coupled L2) that is
        ``weight_decay = 2λ`` on those weights, added to the base ``weight_decay`` here.
        Only trainable parameters are listed.
        """
        lam = float(getattr(self.config.backbone, "fc_weight_decay", 0.0))
        fc_ids = {id(p) for p in self.fc_weights()} if lam > 0 else set()
        fc = [p for p in self.parameters() if id(p) in fc_ids and p.requires_grad]
        rest = [p for p in self.parameters() if id(p) not in fc_ids and p.requires_grad]
        groups = [{"params": rest, "weight_decay": weight_decay}]
        if fc:
            groups.append({"params": fc, "weight_decay": weight_decay + 2.0 * lam})
        return groups
