"""With the opt-in ``mmghost.runtime``, mmengine's own loader (what mmdet's and mmseg's tools use) runs no code
from a checkpoint on torch 2.1 too, and still loads mmengine's checkpoints."""
from test_checkpoint_loading import malicious, test_mmengine_own_loader_with_the_opt_in  # noqa: F401
