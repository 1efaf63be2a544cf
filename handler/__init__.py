"""obs-mpu-janitor: a FunctionGraph function that aborts abandoned OBS multipart uploads.

Two things happen here, before requests or any model is imported:

- pydantic is told that this function uses no pydantic plugins, so a model does not scan
  every installed distribution's entry points (an operator can still set
  PYDANTIC_DISABLE_PLUGINS otherwise);
- requests' warning that no character detection library is installed is silenced: the
  deploy zip leaves charset_normalizer out on purpose (tools/package.py, LEFT_OUT).

Everything else is imported lazily by route.
"""

import os
import warnings

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
warnings.filterwarnings(
    "ignore", message="Unable to find acceptable character detection dependency",
    module="requests")
