"""mmdet's / mmseg's own tools and the project's train, resume and test the demo configs on the oldest
supported stack (the same test as the main suite's, tests/test_downstream_tools.py)."""
from test_downstream_tools import test_train_resume_and_test  # noqa: F401
