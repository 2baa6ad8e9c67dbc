"""Adapting a config to the machine it is launched on: CPU-only multi-process runs and SyncBN without GPUs."""
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log

from mmghost.apis import replace_sync_bn

CPU_LAUNCHERS = ('none', 'pytorch')


def setup_runtime(cfg: Config, launcher: str) -> None:
    """Set ``cfg.launcher`` and adapt ``cfg`` when no GPU is present.

    Without a GPU: SyncBN becomes BN (SyncBN needs CUDA; with several processes BN statistics are then
    per process), and ``launcher='pytorch'`` (torchrun) initialises the gloo process group itself and
    builds DDP without ``device_ids``, since mmengine 0.10.7 assumes one GPU per process.

    Args:
        cfg: The config, changed in place.
        launcher: ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Raises:
        ValueError: a launcher other than ``none``/``pytorch`` is asked for on a machine without GPUs.
    """
    cfg.launcher = launcher
    if torch.cuda.is_available():
        return
    replaced = sum(replace_sync_bn(cfg[key]) for key in cfg)
    if replaced:
        print_log(f'No GPU found: replaced {replaced} SyncBN config(s) by BN', logger='current')
    if launcher == 'none':
        return
    if launcher not in CPU_LAUNCHERS:
        raise ValueError(f'launcher {launcher!r} needs GPUs; without them use one of {CPU_LAUNCHERS} '
                         f'(tools/dist_train.sh uses torchrun, i.e. "pytorch")')
    if not dist.is_initialized():
        dist.init_process_group('gloo')  # rank, world size and address from torchrun's environment
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    print_log(f'No GPU found: process {dist.get_rank()}/{dist.get_world_size()} runs DDP on CPU with gloo',
              logger='current')


def shutdown_runtime() -> None:
    """End a successful multi-process run: wait for every rank, then destroy the process group.

    Without it, a rank that exits first closes its gloo connections while another rank may still be
    finishing its last collective, which can fail that rank ("Connection closed by peer") after a run
    that itself succeeded. Call it only after the work succeeded: a rank that raised must not wait here.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
