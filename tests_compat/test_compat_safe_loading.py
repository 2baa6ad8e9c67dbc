"""With the opt-in ``mmghost.runtime``, mmengine's own loader (what mmdet's and mmseg's tools use) still loads
mmengine's checkpoints on the oldest supported stack, by path and by model-zoo name."""
from test_checkpoint_loading import test_mmengine_own_loaders_load_mmengine_checkpoints_with_the_opt_in  # noqa: F401
