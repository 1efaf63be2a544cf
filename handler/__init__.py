"""obs-mpu-janitor: a FunctionGraph function that aborts abandoned OBS multipart uploads."""
