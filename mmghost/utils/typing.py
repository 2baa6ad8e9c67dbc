"""Type aliases for configs, as in mmdet's ``mmdet.utils.typing_utils``."""
from typing import List, Optional, Union

from mmengine.config import ConfigDict

ConfigType = Union[ConfigDict, dict]
OptConfigType = Optional[ConfigType]
MultiConfig = Union[ConfigType, List[ConfigType]]
OptMultiConfig = Optional[MultiConfig]
