"""Dev environments: JupyterLab, code-server and SSH workloads (spec 03, issue 4)."""
