"""obs-mpu-janitor: a FunctionGraph function that aborts abandoned OBS multipart uploads.

Only one thing happens here, before any model is built: pydantic is told that this
function uses no pydantic plugins, so its first model does not scan every installed
distribution's entry points (measured: about 4 ms of a cold start; an operator can still
set PYDANTIC_DISABLE_PLUGINS otherwise). Everything else is imported lazily by route.
"""

import os

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
