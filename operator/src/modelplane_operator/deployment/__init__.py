"""A ModelDeployment's children: pure builders (`builders`) and the Kubernetes kinds they use
(`kinds`)."""
