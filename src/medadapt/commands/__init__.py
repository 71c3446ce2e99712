"""CLI sub-command groups, one module each; `medadapt.cli` registers them."""
