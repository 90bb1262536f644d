// Module pause builds the local node's pod sandbox ("pause") program: it holds a pod's
// namespaces, reaps orphaned children and exits on SIGTERM or SIGINT.
module modelplane.io/localplane/pause

go 1.26.0
