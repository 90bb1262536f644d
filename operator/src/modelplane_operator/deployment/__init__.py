"""A ModelDeployment's children: pure builders (`builders`); the kinds they use are in
`cluster.RESOURCES`."""
