"""Running submissions: the sandbox, the notebook executor, the probe, and result validation."""
