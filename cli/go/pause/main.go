// Command pause is the infrastructure container of every pod on the local platform's real node.
//
// It does what upstream's pause does, in Go so that it builds from source here: it keeps the
// pod's namespaces alive, reaps zombies (it is PID 1 when the pod shares a PID namespace) and
// exits cleanly when the kubelet stops the sandbox.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every exited child without blocking.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
